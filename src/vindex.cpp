/*
 * vindex.cpp: hnswlib 0.6.2 behind the C interface of vindex.h.
 *
 * The only C++ in driftdeck. Every entry point catches every exception
 * (hnswlib throws std::runtime_error and std::bad_alloc) and turns it into a
 * dd_err, so no exception crosses into C. The read-write lock makes hnswlib's
 * lock-free search safe beside inserts and deletes (see vindex.h); the index
 * and its space sit behind pointers so vindex_swap() exchanges two indexes in
 * O(1) under the write lock.
 */
extern "C" {
#include "dd.h"
}
#include "vindex.h"

#include <hnswlib/hnswlib.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

typedef hnswlib::HierarchicalNSW<float> graph_t;

struct vindex {
    pthread_rwlock_t lock;
    vindex_space space_kind;
    uint32_t dim;
    uint32_t ef;
    hnswlib::SpaceInterface<float> *space;
    graph_t *g;
};

#define META_MAGIC "driftdeck-vindex 1"

static const char *const space_names[VINDEX_SPACE__COUNT] = {"cosine", "ip", "l2"};

extern "C" vindex_params vindex_params_default(void)
{
    vindex_params p;
    p.space = VINDEX_COSINE;
    p.dim = 64;
    p.capacity = 1024;
    p.m = 16;
    p.ef_construction = 100;
    p.ef_search = 100;
    p.seed = 100;
    return p;
}

extern "C" const char *vindex_space_name(vindex_space s)
{
    return (unsigned)s < VINDEX_SPACE__COUNT ? space_names[s] : "?";
}

extern "C" dd_err vindex_space_parse(const char *name, vindex_space *out)
{
    for (unsigned i = 0; i < VINDEX_SPACE__COUNT; i++)
        if (name && !strcmp(name, space_names[i])) {
            *out = (vindex_space)i;
            return DD_OK;
        }
    return DD_EINVAL;
}

static hnswlib::SpaceInterface<float> *space_new(vindex_space s, uint32_t dim)
{
    if (s == VINDEX_L2)
        return new hnswlib::L2Space(dim);
    return new hnswlib::InnerProductSpace(dim);
}

static dd_err check_params(const vindex_params *p, char **cause)
{
    if ((unsigned)p->space >= VINDEX_SPACE__COUNT)
        return dd_fail(cause, DD_EINVAL, "vindex: unknown space %d", (int)p->space);
    if (p->dim == 0 || p->dim > 65536)
        return dd_fail(cause, DD_EINVAL, "vindex: dimension must be in 1..65536, got %u", p->dim);
    if (p->m < 2 || p->m > 256)
        return dd_fail(cause, DD_EINVAL, "vindex: M must be in 2..256, got %u", p->m);
    if (p->ef_construction == 0 || p->ef_search == 0)
        return dd_fail(cause, DD_EINVAL, "vindex: ef must be > 0");
    return DD_OK;
}

static vindex *shell_new(const vindex_params *p)
{
    vindex *v = new (std::nothrow) vindex();
    if (!v)
        return NULL;
    if (pthread_rwlock_init(&v->lock, NULL) != 0) {
        delete v;
        return NULL;
    }
    v->space_kind = p->space;
    v->dim = p->dim;
    v->ef = p->ef_search;
    v->space = NULL;
    v->g = NULL;
    return v;
}

extern "C" vindex *vindex_new(const vindex_params *p, char **cause)
{
    if (check_params(p, cause) != DD_OK)
        return NULL;
    vindex *v = shell_new(p);
    if (!v) {
        dd_fail(cause, DD_ENOMEM, "vindex: out of memory");
        return NULL;
    }
    try {
        v->space = space_new(p->space, p->dim);
        v->g =
            new graph_t(v->space, p->capacity ? p->capacity : 1, p->m, p->ef_construction, p->seed);
        v->g->setEf(v->ef);
    } catch (const std::exception &e) {
        dd_fail(cause, DD_ENOMEM, "vindex: %s", e.what());
        vindex_free(v);
        return NULL;
    }
    return v;
}

extern "C" void vindex_free(vindex *v)
{
    if (!v)
        return;
    delete v->g;
    delete v->space;
    pthread_rwlock_destroy(&v->lock);
    delete v;
}

/* Copy vec into buf as the index stores it: normalized for cosine. */
static dd_err prepare(const vindex *v, const float *vec, std::vector<float> &buf, char **cause)
{
    double norm = 0;
    for (uint32_t i = 0; i < v->dim; i++) {
        if (!std::isfinite(vec[i]))
            return dd_fail(cause, DD_ENONFINITE, "vindex: coordinate %u is not finite", i);
        norm += (double)vec[i] * vec[i];
    }
    buf.assign(vec, vec + v->dim);
    if (v->space_kind == VINDEX_COSINE && norm > 0) {
        double inv = 1.0 / std::sqrt(norm);
        for (uint32_t i = 0; i < v->dim; i++)
            buf[i] = (float)(buf[i] * inv);
    }
    return DD_OK;
}

/* Is label present (deleted or not)? Caller holds the lock. */
static bool has_label(const graph_t *g, uint64_t label, bool *deleted)
{
    auto it = g->label_lookup_.find((hnswlib::labeltype)label);
    if (it == g->label_lookup_.end())
        return false;
    *deleted = g->isMarkedDeleted(it->second);
    return true;
}

extern "C" dd_err vindex_upsert(vindex *v, uint64_t label, const float *vec, char **cause)
{
    std::vector<float> buf;
    dd_err err;
    try {
        if ((err = prepare(v, vec, buf, cause)) != DD_OK)
            return err;
    } catch (const std::exception &e) {
        return dd_fail(cause, DD_ENOMEM, "vindex: %s", e.what());
    }
    pthread_rwlock_wrlock(&v->lock);
    err = DD_OK;
    try {
        bool deleted;
        graph_t *g = v->g;
        if (!has_label(g, label, &deleted) && g->cur_element_count >= g->max_elements_)
            g->resizeIndex(g->max_elements_ * 2);
        g->addPoint(buf.data(), (hnswlib::labeltype)label);
    } catch (const std::exception &e) {
        err = dd_fail(cause, DD_ENOMEM, "vindex: insert failed: %s", e.what());
    }
    pthread_rwlock_unlock(&v->lock);
    return err;
}

extern "C" dd_err vindex_delete(vindex *v, uint64_t label)
{
    dd_err err = DD_OK;
    pthread_rwlock_wrlock(&v->lock);
    bool deleted = false;
    if (!has_label(v->g, label, &deleted) || deleted)
        err = DD_ENOTFOUND;
    else
        v->g->markDelete((hnswlib::labeltype)label);
    pthread_rwlock_unlock(&v->lock);
    return err;
}

extern "C" int vindex_contains(vindex *v, uint64_t label)
{
    pthread_rwlock_rdlock(&v->lock);
    bool deleted = false;
    int yes = has_label(v->g, label, &deleted) && !deleted;
    pthread_rwlock_unlock(&v->lock);
    return yes;
}

static void set_ef(vindex *v, uint32_t ef)
{
    pthread_rwlock_wrlock(&v->lock);
    __atomic_store_n(&v->ef, ef, __ATOMIC_RELAXED);
    v->g->setEf(ef);
    pthread_rwlock_unlock(&v->lock);
}

extern "C" dd_err vindex_search(vindex *v, const float *q, uint32_t k, uint32_t ef, vindex_hit *out,
                                uint32_t *n, char **cause)
{
    *n = 0;
    if (k == 0)
        return DD_OK;
    std::vector<float> buf;
    dd_err err;
    try {
        if ((err = prepare(v, q, buf, cause)) != DD_OK)
            return err;
    } catch (const std::exception &e) {
        return dd_fail(cause, DD_ENOMEM, "vindex: %s", e.what());
    }
    if (ef && ef != __atomic_load_n(&v->ef, __ATOMIC_RELAXED))
        set_ef(v, ef);
    pthread_rwlock_rdlock(&v->lock);
    try {
        auto res = v->g->searchKnn(buf.data(), k);
        uint32_t m = (uint32_t)res.size();
        for (uint32_t i = m; i-- > 0;) { /* the queue pops the farthest first */
            out[i].label = (uint64_t)res.top().second;
            out[i].dist = res.top().first;
            res.pop();
        }
        *n = m;
    } catch (const std::exception &e) {
        err = dd_fail(cause, DD_ENOMEM, "vindex: search failed: %s", e.what());
    }
    pthread_rwlock_unlock(&v->lock);
    return err;
}

extern "C" dd_err vindex_resize(vindex *v, size_t capacity, char **cause)
{
    dd_err err = DD_OK;
    pthread_rwlock_wrlock(&v->lock);
    try {
        if (capacity > v->g->max_elements_)
            v->g->resizeIndex(capacity);
    } catch (const std::exception &e) {
        err = dd_fail(cause, DD_ENOMEM, "vindex: resize failed: %s", e.what());
    }
    pthread_rwlock_unlock(&v->lock);
    return err;
}

extern "C" dd_err vindex_swap(vindex *a, vindex *b, char **cause)
{
    if (a == b)
        return DD_OK;
    if (a->space_kind != b->space_kind || a->dim != b->dim)
        return dd_fail(cause, DD_EINVAL, "vindex: swap needs the same space and dimension");
    vindex *first = a < b ? a : b, *second = a < b ? b : a; /* one lock order */
    pthread_rwlock_wrlock(&first->lock);
    pthread_rwlock_wrlock(&second->lock);
    std::swap(a->g, b->g);
    std::swap(a->space, b->space);
    a->g->setEf(a->ef);
    b->g->setEf(b->ef);
    pthread_rwlock_unlock(&second->lock);
    pthread_rwlock_unlock(&first->lock);
    return DD_OK;
}

/* SHA-256 of a file as 64 hex digits into hex[65]. */
static dd_err file_sha256(const char *path, char hex[65], uint64_t *bytes, char **cause)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dd_fail(cause, errno == ENOENT ? DD_ENOTFOUND : DD_EIO, "vindex: %s: %s", path,
                       strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return dd_fail(cause, DD_ENOMEM, "vindex: sha256 unavailable");
    }
    unsigned char chunk[65536];
    size_t got;
    *bytes = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        EVP_DigestUpdate(ctx, chunk, got);
        *bytes += got;
    }
    bool bad = ferror(f);
    fclose(f);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (bad)
        return dd_fail(cause, DD_EIO, "vindex: reading %s failed", path);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return DD_OK;
}

extern "C" dd_err vindex_save(vindex *v, const char *path, uint64_t tag, char **cause)
{
    std::string gpath = std::string(path) + ".tmp", mpath = std::string(path) + ".meta",
                mtmp = mpath + ".tmp";
    size_t count = 0, deleted = 0;
    pthread_rwlock_rdlock(&v->lock);
    try {
        v->g->saveIndex(gpath);
        count = v->g->cur_element_count;
        deleted = v->g->num_deleted_;
    } catch (const std::exception &e) {
        pthread_rwlock_unlock(&v->lock);
        remove(gpath.c_str());
        return dd_fail(cause, DD_EIO, "vindex: save failed: %s", e.what());
    }
    pthread_rwlock_unlock(&v->lock);
    char hex[65];
    uint64_t bytes;
    dd_err err = file_sha256(gpath.c_str(), hex, &bytes, cause);
    if (err != DD_OK)
        return err;
    FILE *m = fopen(mtmp.c_str(), "w");
    if (!m)
        return dd_fail(cause, DD_EIO, "vindex: %s: %s", mtmp.c_str(), strerror(errno));
    fprintf(m, "%s\nspace %s\ndim %u\nslots %zu\ndeleted %zu\nbytes %llu\ntag %llu\nsha256 %s\n",
            META_MAGIC, vindex_space_name(v->space_kind), v->dim, count, deleted,
            (unsigned long long)bytes, (unsigned long long)tag, hex);
    bool bad = fflush(m) != 0 || fsync(fileno(m)) != 0;
    bad = fclose(m) != 0 || bad;
    /* graph first, header last: a crash between the renames leaves a header
     * whose checksum does not match, which load refuses. */
    if (bad || rename(gpath.c_str(), path) != 0 || rename(mtmp.c_str(), mpath.c_str()) != 0) {
        remove(mtmp.c_str());
        return dd_fail(cause, DD_EIO, "vindex: writing %s failed: %s", path, strerror(errno));
    }
    return DD_OK;
}

struct meta {
    char space[16];
    unsigned dim;
    size_t slots, deleted;
    unsigned long long bytes, tag;
    char sha[65];
};

static dd_err read_meta(const std::string &mpath, meta *mt, char **cause)
{
    FILE *m = fopen(mpath.c_str(), "r");
    if (!m)
        return dd_fail(cause, errno == ENOENT ? DD_ENOTFOUND : DD_EIO, "vindex: %s: %s",
                       mpath.c_str(), strerror(errno));
    char magic[64] = "";
    bool ok = fgets(magic, sizeof magic, m) != NULL;
    if (ok && strcmp(magic, META_MAGIC "\n") != 0) {
        fclose(m);
        return dd_fail(cause, DD_EVERSION, "vindex: %s: not a format this build reads",
                       mpath.c_str());
    }
    ok = ok &&
         fscanf(m, "space %15s dim %u slots %zu deleted %zu bytes %llu tag %llu sha256 %64s",
                mt->space, &mt->dim, &mt->slots, &mt->deleted, &mt->bytes, &mt->tag, mt->sha) == 7;
    fclose(m);
    if (!ok)
        return dd_fail(cause, DD_ECORRUPT, "vindex: %s: malformed header", mpath.c_str());
    return DD_OK;
}

static dd_err check_meta(const vindex_params *p, const char *path, const meta *mt, char **cause)
{
    vindex_space s;
    if (vindex_space_parse(mt->space, &s) != DD_OK || s != p->space || mt->dim != p->dim)
        return dd_fail(cause, DD_EINVAL, "vindex: %s holds %s/%u, wanted %s/%u", path, mt->space,
                       mt->dim, vindex_space_name(p->space), p->dim);
    char hex[65];
    uint64_t bytes;
    dd_err err = file_sha256(path, hex, &bytes, cause);
    if (err != DD_OK)
        return err == DD_ENOTFOUND ? dd_fail(cause, DD_ECORRUPT, "vindex: %s missing", path) : err;
    if (bytes != mt->bytes || strcmp(hex, mt->sha) != 0)
        return dd_fail(cause, DD_ECORRUPT, "vindex: %s does not match its checksum", path);
    return DD_OK;
}

/* hnswlib 0.6.2's loading constructor leaves num_deleted_ (and, when it
 * throws early, the pointers its destructor frees) uninitialized. Start from
 * a fully constructed one-slot graph, release its buffers, and load into it;
 * if loading throws, leave the destructor only what was really allocated. */
static graph_t *graph_load(hnswlib::SpaceInterface<float> *space, const char *path, size_t cap)
{
    graph_t *g = new graph_t(space, 1);
    free(g->data_level0_memory_);
    g->data_level0_memory_ = nullptr;
    free(g->linkLists_);
    g->linkLists_ = nullptr;
    delete g->visited_list_pool_;
    g->visited_list_pool_ = nullptr;
    try {
        g->loadIndex(std::string(path), space, cap);
    } catch (...) {
        if (g->element_levels_.size() < g->cur_element_count || !g->linkLists_)
            g->cur_element_count = 0;
        delete g;
        throw;
    }
    return g;
}

extern "C" vindex *vindex_load(const vindex_params *p, const char *path, uint64_t *tag,
                               dd_err *errp, char **cause)
{
    meta mt;
    dd_err err = check_params(p, cause);
    if (err == DD_OK)
        err = read_meta(std::string(path) + ".meta", &mt, cause);
    if (err == DD_OK)
        err = check_meta(p, path, &mt, cause);
    vindex *v = NULL;
    if (err == DD_OK && !(v = shell_new(p)))
        err = dd_fail(cause, DD_ENOMEM, "vindex: out of memory");
    if (err == DD_OK) {
        try {
            v->space = space_new(p->space, p->dim);
            v->g = graph_load(v->space, path, std::max(p->capacity, mt.slots + 1));
            v->g->setEf(v->ef);
            if (v->g->cur_element_count != mt.slots || v->g->num_deleted_ != mt.deleted ||
                v->g->data_size_ + v->g->size_links_level0_ + sizeof(hnswlib::labeltype) !=
                    v->g->size_data_per_element_)
                err = dd_fail(cause, DD_ECORRUPT, "vindex: %s: graph disagrees with header", path);
        } catch (const std::exception &e) {
            err = dd_fail(cause, DD_ECORRUPT, "vindex: %s: %s", path, e.what());
        }
    }
    if (err != DD_OK) {
        vindex_free(v);
        v = NULL;
    } else if (tag) {
        *tag = mt.tag;
    }
    if (errp)
        *errp = err;
    return v;
}

extern "C" uint32_t vindex_dim(const vindex *v)
{
    return v->dim;
}

extern "C" vindex_space vindex_get_space(const vindex *v)
{
    return v->space_kind;
}

extern "C" size_t vindex_count(vindex *v)
{
    pthread_rwlock_rdlock(&v->lock);
    size_t n = v->g->cur_element_count - v->g->num_deleted_;
    pthread_rwlock_unlock(&v->lock);
    return n;
}

extern "C" size_t vindex_deleted(vindex *v)
{
    pthread_rwlock_rdlock(&v->lock);
    size_t n = v->g->num_deleted_;
    pthread_rwlock_unlock(&v->lock);
    return n;
}

extern "C" size_t vindex_capacity(vindex *v)
{
    pthread_rwlock_rdlock(&v->lock);
    size_t n = v->g->max_elements_;
    pthread_rwlock_unlock(&v->lock);
    return n;
}

extern "C" size_t vindex_memory(vindex *v)
{
    pthread_rwlock_rdlock(&v->lock);
    const graph_t *g = v->g;
    size_t max = g->max_elements_, bytes = max * g->size_data_per_element_;
    bytes += max * (sizeof(char *) + sizeof(int) + sizeof(std::mutex) + sizeof(unsigned short));
    for (size_t i = 0; i < g->cur_element_count; i++)
        if (g->element_levels_[i] > 0)
            bytes += g->size_links_per_element_ * g->element_levels_[i] + 1;
    bytes += g->label_lookup_.size() *
             (sizeof(hnswlib::labeltype) + sizeof(hnswlib::tableint) + 2 * sizeof(void *));
    pthread_rwlock_unlock(&v->lock);
    return bytes;
}
