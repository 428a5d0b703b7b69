/*
 * b64.h -- base64 for kubeconfig "-data" fields, exec plugins' cluster
 * info and Celery message bodies, done by OpenSSL (EVP_EncodeBlock,
 * EVP_DecodeBlock), never by hand.
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

/* Encode len bytes as standard base64, one line, NUL-terminated (malloc'd). */
char	*b64_encode(const char *in, size_t len);

#endif
