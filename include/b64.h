/*
 * b64.h -- base64 decoding for kubeconfig "-data" fields and Celery message
 * bodies, done by OpenSSL (EVP_DecodeBlock), never by hand.
 */
#ifndef B64_H
#define B64_H

#include <stddef.h>

/*
 * Decode standard-alphabet base64; ASCII whitespace anywhere is ignored.
 * Returns a NUL-terminated malloc'd buffer holding *outlen decoded bytes,
 * or NULL if the input is not valid base64 (bad characters, bad length,
 * misplaced padding) or memory runs out.
 */
char	*b64_decode(const char *in, size_t inlen, size_t *outlen);

#endif
