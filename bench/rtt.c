/* rtt.c - the loopback floor of one SMTP session on this machine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A server that does nothing (a forked process answering every line with
 * "250 ok" from a blocking read loop) and a client that connects, reads
 * the greeting, sends one command and reads the reply, 2000 times.  Prints
 * the median and 90th percentile of connect+greeting and of one command's
 * round trip: what any SMTP server pays per step here before doing any
 * work (bench/README.md, "Where the remaining cost is").  Loopback only.
 *
 *   cc -O2 -o /tmp/rtt bench/rtt.c && /tmp/rtt
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 2000

static double
now_us (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
compare (const void *a,
         const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
serve (int listener)
{
  int one = 1;

  for (;;)
    {
      char buf[64];
      ssize_t n;
      int c = accept (listener, NULL, NULL);

      if (c < 0)
        _exit (0);
      setsockopt (c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (write (c, "220 hi\r\n", 8) != 8)
        _exit (1);
      while ((n = read (c, buf, sizeof buf)) > 0)
        {
          const char *reply = buf[0] == 'Q' ? "221 bye\r\n" : "250 ok\r\n";

          if (write (c, reply, strlen (reply)) < 0 || buf[0] == 'Q')
            break;
        }
      close (c);
    }
}

int
main (void)
{
  static double round_trip[ROUNDS], greeting[ROUNDS];
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  int listener = socket (AF_INET, SOCK_STREAM, 0);
  int one = 1;
  pid_t pid;

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (listener < 0 || bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0 ||
      listen (listener, 128) != 0 || getsockname (listener, (struct sockaddr *) &addr, &len) != 0)
    {
      perror ("rtt: listening on 127.0.0.1");
      return 1;
    }
  pid = fork ();
  if (pid == 0)
    serve (listener);

  for (int i = 0; i < ROUNDS; i++)
    {
      char buf[64];
      double t0 = now_us (), t1;
      int s = socket (AF_INET, SOCK_STREAM, 0);

      setsockopt (s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect (s, (struct sockaddr *) &addr, sizeof addr) != 0 || read (s, buf, sizeof buf) <= 0)
        {
          perror ("rtt: connect");
          kill (pid, SIGKILL);
          return 1;
        }
      t1 = now_us ();
      greeting[i] = t1 - t0;
      if (write (s, "HELO x\r\n", 8) != 8 || read (s, buf, sizeof buf) <= 0)
        break;
      round_trip[i] = now_us () - t1;
      if (write (s, "QUIT\r\n", 6) == 6)
        (void) read (s, buf, sizeof buf);
      close (s);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);

  qsort (round_trip, ROUNDS, sizeof (double), compare);
  qsort (greeting, ROUNDS, sizeof (double), compare);
  printf ("connect+greeting: median %.1f us, p90 %.1f us\n", greeting[ROUNDS / 2], greeting[ROUNDS * 9 / 10]);
  printf ("command round trip: median %.1f us, p90 %.1f us\n", round_trip[ROUNDS / 2], round_trip[ROUNDS * 9 / 10]);
  return 0;
}
