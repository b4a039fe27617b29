/*
 * notify.h — tell the service manager how the daemon is doing (systemd's
 * Type=notify), with the NOTIFY_SOCKET datagram protocol of sd_notify(3):
 * one AF_UNIX datagram of "NAME=value" lines to the socket named by the
 * environment. Written here in a few lines rather than linking libsystemd,
 * so the daemon has no systemd dependency and runs the same without it.
 */
#ifndef RB_NOTIFY_H
#define RB_NOTIFY_H

/*
 * notify_send — send `state` (e.g. "READY=1", "RELOADING=1",
 * "STOPPING=1", "STATUS=…") when NOTIFY_SOCKET is set. 1 when sent, 0
 * when there is no service manager to tell, -1 when sending failed.
 */
int notify_send(const char *state);

#endif /* RB_NOTIFY_H */
