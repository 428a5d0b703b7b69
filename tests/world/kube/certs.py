"""The double's CA, server and client certificates (openssl)."""
import os
import random
import subprocess


def run_openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def ensure_certs(d):
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    if not (os.path.exists(p("ca.crt")) and os.path.exists(p("ca.key"))):
        run_openssl(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                     "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kube-double-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    for name, subj, ext in (
            ("server", "/CN=kube-apiserver",
             "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"),
            ("client", "/O=system:masters/CN=operator",
             "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=clientAuth\n")):
        if os.path.exists(p(name + ".crt")) and os.path.exists(p(name + ".key")):
            continue
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        run_openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".csr", "-subj", subj], d)
        run_openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-set_serial", str(random.randint(1, 2 ** 62)), "-out", name + ".crt",
                     "-days", "3650", "-sha256", "-extfile", name + ".ext"], d)
        for junk in (name + ".csr", name + ".ext"):
            try:
                os.unlink(p(junk))
            except OSError:
                pass
    for k in ("ca.key", "server.key", "client.key"):
        os.chmod(p(k), 0o600)
