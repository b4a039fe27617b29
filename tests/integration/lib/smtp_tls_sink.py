#!/usr/bin/python3
# smtp_tls_sink.py — an SMTP listener with TLS for 73-smtp-tls.t (Python's
# standard library only; RBSmtp->start(tls => …) runs it). Writes each
# accepted message to DIR as RBSmtp does (envelope lines first), adding
# X-Sink-TLS (the TLS version, or "no") and X-Sink-Auth (the user, or "-").
#
#   smtp_tls_sink.py PORT DIR MODE CERT KEY [USER:PASSWORD]
#   MODE: starttls (offers STARTTLS), tls (implicit TLS), plain (offers no TLS)
# With USER:PASSWORD, MAIL before a successful AUTH PLAIN/LOGIN gets 530.
import base64, os, socket, ssl, sys

port, out, mode, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
creds = sys.argv[6] if len(sys.argv) > 6 else None
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
seq = 0


def session(conn):
    global seq
    tls = None
    if mode == "tls":
        conn = ctx.wrap_socket(conn, server_side=True)
        tls = conn.version()
    f = conn.makefile("rb")
    put = lambda s: conn.sendall((s + "\r\n").encode())
    user, mail_from, rcpt = None, None, []
    put("220 tls-sink.test ESMTP")
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.decode("utf-8", "replace").rstrip("\r\n")
        up = cmd.upper()
        if up.startswith("EHLO") or up.startswith("HELO"):
            ext = ["tls-sink.test"]
            if mode == "starttls" and tls is None:
                ext.append("STARTTLS")
            if creds and (tls is not None):
                ext.append("AUTH PLAIN LOGIN")
            for i, e in enumerate(ext):
                put(("250 " if i == len(ext) - 1 else "250-") + e)
        elif up == "STARTTLS" and mode == "starttls" and tls is None:
            put("220 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            tls = conn.version()
            f = conn.makefile("rb")
            put = lambda s, c=conn: c.sendall((s + "\r\n").encode())
        elif up.startswith("AUTH PLAIN"):
            arg = cmd.split(" ", 2)[2] if len(cmd.split(" ")) > 2 else None
            if arg is None:
                put("334 ")
                arg = f.readline().decode().strip()
            parts = base64.b64decode(arg).split(b"\0")
            if creds and len(parts) == 3 and parts[1] + b":" + parts[2] == creds.encode():
                user = parts[1].decode()
                put("235 ok")
            else:
                put("535 bad credentials")
        elif up.startswith("AUTH LOGIN"):
            put("334 VXNlcm5hbWU6")
            u = base64.b64decode(f.readline().strip())
            put("334 UGFzc3dvcmQ6")
            p = base64.b64decode(f.readline().strip())
            if creds and u + b":" + p == creds.encode():
                user = u.decode()
                put("235 ok")
            else:
                put("535 bad credentials")
        elif up.startswith("MAIL FROM:"):
            if creds and user is None:
                put("530 authentication required")
                continue
            mail_from, rcpt = cmd[10:].strip().strip("<>"), []
            put("250 ok")
        elif up.startswith("RCPT TO:"):
            rcpt.append(cmd[8:].strip().strip("<>"))
            put("250 ok")
        elif up == "DATA":
            put("354 go ahead")
            data = b""
            while True:
                l = f.readline()
                if not l or l in (b".\r\n", b".\n"):
                    break
                data += l[1:] if l.startswith(b"..") else l
            path = os.path.join(out, "tls-%d-%03d" % (os.getpid(), seq))
            seq += 1
            with open(path + ".tmp", "wb") as w:
                w.write(("X-Envelope-From: %s\nX-Envelope-To: %s\nX-Sink-TLS: %s\nX-Sink-Auth: %s\n"
                         % (mail_from, ",".join(rcpt), tls or "no", user or "-")).encode() + data)
            os.rename(path + ".tmp", path + ".eml")
            put("250 queued")
        elif up.startswith("QUIT"):
            put("221 bye")
            return
        elif up.startswith("RSET") or up.startswith("NOOP"):
            put("250 ok")
        else:
            put("502 not implemented")


while True:
    c, _ = srv.accept()
    try:
        session(c)
    except Exception as e:  # a failed handshake is the client's business
        sys.stderr.write("sink: %s\n" % e)
    finally:
        try:
            c.close()
        except Exception:
            pass
