/*
 * cmd_gen.c: `driftdeck gen KIND [OPTIONS]`, a generated drifting stream as
 * JSON Lines (core/gen.h), to stdout or a file.
 *
 * The options fill a gen_params; core/gen.c checks the ranges and says what is
 * wrong. Options that belong to another kind are refused, so a typo in a
 * command line never silently produces a different stream. Exit codes: 0 done,
 * 2 a usage error or a write failure.
 */
#include "commands.h"
#include "gen.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck gen sea|hyperplane|agrawal|stagger [OPTIONS]\n"
          "Write a seeded stream with concept drift as JSON Lines\n"
          "({\"id\":\"e-N\",\"ts\":T,\"x\":{...},\"y\":0|1}, N counted from 0).\n"
          "\n"
          "  -n, --count N          events to write (default 10000)\n"
          "  -s, --seed S           random seed (default 1); same seed, same stream\n"
          "  -d, --drift POS[:W]    a drift to the next concept at event POS; W > 0 makes\n"
          "                         it gradual: P(new concept at t) = 1/(1+exp(-4(t-POS)/W)).\n"
          "                         Repeat for a chain of concepts (positions increasing).\n"
          "  -V, --variants A,B,..  the variant of each concept (drifts + 1 values);\n"
          "                         default 0,1,2,... (modulo the kind's variant count)\n"
          "      --noise P          probability of flipping a label (default 0;\n"
          "                         hyperplane 0.05)\n"
          "      --start-ts T       event time of the first event, seconds (default 1700000000)\n"
          "      --rate R           events per second of event time (default 100)\n"
          "  -o, --output FILE      write to FILE instead of stdout\n"
          "  -h, --help             this help\n"
          "\n"
          "sea (Street & Kim 2001): f1,f2,f3 uniform in [0,10]; y = 0 iff f1+f2 <= theta,\n"
          "  variants 0..3: theta = 8, 9, 7, 9.5.\n"
          "hyperplane (Hulten et al. 2001): f1..fd uniform in [0,1]; y = 1 iff\n"
          "  sum w_i x_i >= sum w_i / 2; a variant seeds the concept's weights.\n"
          "      --features D       dimensions (default 10)\n"
          "      --drift-features K weights that move (default 2)\n"
          "      --mag-change M     weight change per event (default 0)\n"
          "      --sigma S          probability a weight's direction reverses (default 0.1)\n"
          "agrawal (Agrawal et al. 1993): salary, commission, age, elevel, car, zipcode,\n"
          "  hvalue, hyears, loan; variants 0..9 = the paper's functions 1..10; y = 0 for\n"
          "  group A.\n"
          "      --perturbation P   numeric noise, fraction of each range (default 0)\n"
          "stagger (Schlimmer & Granger 1986): size, color, shape; variants 0..2:\n"
          "  small and red | green or circle | medium or large (y = 1 when it holds).\n",
          out);
}

enum {
    OPT_NOISE = 256,
    OPT_START_TS,
    OPT_RATE,
    OPT_FEATURES,
    OPT_DRIFT_FEATURES,
    OPT_MAG_CHANGE,
    OPT_SIGMA,
    OPT_PERTURBATION,
};

static const struct option long_options[] = {
    {"count", required_argument, NULL, 'n'},
    {"seed", required_argument, NULL, 's'},
    {"drift", required_argument, NULL, 'd'},
    {"variants", required_argument, NULL, 'V'},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"start-ts", required_argument, NULL, OPT_START_TS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"drift-features", required_argument, NULL, OPT_DRIFT_FEATURES},
    {"mag-change", required_argument, NULL, OPT_MAG_CHANGE},
    {"sigma", required_argument, NULL, OPT_SIGMA},
    {"perturbation", required_argument, NULL, OPT_PERTURBATION},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print one usage error line; returns the exit code 2. */
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("driftdeck gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (try 'driftdeck gen --help')\n", stderr);
    va_end(ap);
    return 2;
}

/* A whole decimal unsigned number, nothing after it. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* POS or POS:WIDTH */
static int parse_drift(const char *s, gen_params *p)
{
    if (p->ndrifts >= GEN_MAX_DRIFTS)
        return bad("too many drifts (at most %u)", GEN_MAX_DRIFTS);
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return bad("bad --drift '%s': expected POS or POS:WIDTH", s);
    memcpy(buf, s, strlen(s) + 1);
    char *colon = strchr(buf, ':');
    gen_drift d = {0, 0};
    if (colon)
        *colon = '\0';
    if (parse_u64(buf, &d.pos) || (colon && parse_u64(colon + 1, &d.width)))
        return bad("bad --drift '%s': expected POS or POS:WIDTH (whole numbers)", s);
    p->drift[p->ndrifts++] = d;
    return 0;
}

static int parse_variants(const char *s, gen_params *p)
{
    const char *q = s;
    p->nvariants = 0;
    for (;;) {
        char tok[32];
        size_t n = strcspn(q, ",");
        if (n == 0 || n >= sizeof tok || p->nvariants > GEN_MAX_DRIFTS)
            return bad("bad --variants '%s': expected a comma-separated list of numbers", s);
        memcpy(tok, q, n);
        tok[n] = '\0';
        if (parse_u32(tok, &p->variant[p->nvariants]))
            return bad("bad variant '%s' in '%s'", tok, s);
        p->nvariants++;
        if (!q[n])
            return 0;
        q += n + 1;
    }
}

/* Options that exist for one kind only. */
static int check_kind(int opt, gen_kind kind, const char *name)
{
    gen_kind want = (opt == OPT_PERTURBATION) ? GEN_AGRAWAL : GEN_HYPERPLANE;
    if (kind != want)
        return bad("--%s applies to '%s' only", name, gen_kind_name(want));
    return 0;
}

static const char *long_name(int opt)
{
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

static int parse_number_option(int opt, const char *arg, gen_params *p)
{
    int rc = 0;
    switch (opt) {
    case OPT_NOISE:
        rc = parse_double(arg, &p->noise);
        break;
    case OPT_START_TS:
        rc = parse_double(arg, &p->ts_start);
        break;
    case OPT_RATE:
        rc = parse_double(arg, &p->rate);
        break;
    case OPT_FEATURES:
        rc = parse_u32(arg, &p->features);
        break;
    case OPT_DRIFT_FEATURES:
        rc = parse_u32(arg, &p->drift_features);
        break;
    case OPT_MAG_CHANGE:
        rc = parse_double(arg, &p->mag_change);
        break;
    case OPT_SIGMA:
        rc = parse_double(arg, &p->sigma);
        break;
    default:
        rc = parse_double(arg, &p->perturbation);
        break;
    }
    if (rc)
        return bad("bad --%s '%s': not a number", long_name(opt), arg);
    return 0;
}

struct gen_cli {
    gen_params p;
    uint64_t count;
    const char *output;
    int help;
};

static int parse_options(int argc, char **argv, struct gen_cli *cli)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:s:d:V:o:h", long_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'n':
            if (parse_u64(optarg, &cli->count))
                return bad("bad --count '%s': expected a whole number", optarg);
            break;
        case 's':
            if (parse_u64(optarg, &cli->p.seed))
                return bad("bad --seed '%s': expected a whole number", optarg);
            break;
        case 'd':
            rc = parse_drift(optarg, &cli->p);
            break;
        case 'V':
            rc = parse_variants(optarg, &cli->p);
            break;
        case 'o':
            cli->output = optarg;
            break;
        case 'h':
            cli->help = 1;
            return 0;
        case ':':
            return bad("option '%s' needs a value", argv[optind - 1]);
        case '?':
            if (optopt)
                return bad("unknown option '-%c'", optopt);
            return bad("unknown option '%s'", argv[optind - 1]);
        default:
            if (c >= OPT_FEATURES && (rc = check_kind(c, cli->p.kind, long_name(c))))
                return rc;
            rc = parse_number_option(c, optarg, &cli->p);
            break;
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    return 0;
}

static int write_stream(gen *g, uint64_t count, FILE *out, const char *path)
{
    size_t cap = gen_line_max(g), len = 0;
    char *line = malloc(cap);
    if (!line) {
        fputs("driftdeck gen: out of memory\n", stderr);
        return 2;
    }
    for (uint64_t i = 0; i < count; i++) {
        gen_next_line(g, line, cap, &len); /* cap is gen_line_max(): can't fail */
        if (fwrite(line, 1, len, out) != len)
            break;
    }
    free(line);
    if (fflush(out) || ferror(out)) {
        fprintf(stderr, "driftdeck gen: cannot write %s: %s\n", path, strerror(errno));
        return 2;
    }
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct gen_cli cli = {.count = 10000};
    gen_kind kind;
    if (gen_kind_parse(argv[1], &kind))
        return bad("unknown generator '%s': expected sea, hyperplane, agrawal or stagger", argv[1]);
    gen_params_default(&cli.p, kind);
    int rc = parse_options(argc - 1, argv + 1, &cli);
    if (rc || cli.help) {
        if (cli.help)
            usage(stdout);
        return rc;
    }
    char *cause = NULL;
    gen *g = gen_new(&cli.p, &cause);
    if (!g) {
        fprintf(stderr, "driftdeck gen: %s\n", cause ? cause : "cannot create the generator");
        free(cause);
        return 2;
    }
    FILE *out = stdout;
    if (cli.output && !(out = fopen(cli.output, "w"))) {
        fprintf(stderr, "driftdeck gen: cannot open %s: %s\n", cli.output, strerror(errno));
        gen_free(g);
        return 2;
    }
    rc = write_stream(g, cli.count, out, cli.output ? cli.output : "stdout");
    if (cli.output && fclose(out) && !rc) {
        fprintf(stderr, "driftdeck gen: cannot write %s: %s\n", cli.output, strerror(errno));
        rc = 2;
    }
    gen_free(g);
    return rc;
}
