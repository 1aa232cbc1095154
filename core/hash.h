/*
 * hash.h: the 64-bit string hash used for feature names and the hashing
 * trick. FNV-1a over the bytes (Fowler, Noll, Vo), then the splitmix64
 * finalizer so that low bits, which pick hash buckets, depend on every input
 * byte. Not cryptographic (SHA-256 for the audit log comes from libcrypto).
 */
#ifndef DD_HASH_H
#define DD_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return hash_mix64(h);
}

static inline uint64_t hash_str(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xcbf29ce484222325ULL;
    while (*p) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return hash_mix64(h);
}

/* Combine two hashes (a feature name's and its categorical value's). */
static inline uint64_t hash_combine(uint64_t a, uint64_t b)
{
    return hash_mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

#endif
