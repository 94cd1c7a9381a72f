/* mg-resolver.c - MX / A / AAAA lookups through libunbound
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One ub_ctx per resolver, in libunbound's threaded async mode; the hosts
 * file is loaded (ub_ctx_hosts), the forwarder comes from dns.forwarder or
 * resolv.conf.  A resolver thread polls ub_fd() (and a wake-up pipe for
 * shutdown) and calls ub_process(), which runs the callbacks there.
 *
 * Answers are kept per "TYPE name" in a cache until their TTL runs out
 * (NXDOMAIN and NODATA too, for their negative TTL).  An Answer being
 * resolved sits in @pending; workers asking for it wait on @cond.  Each
 * pending Answer holds one reference for libunbound's callback, dropped by
 * the callback, or at shutdown for queries that never completed.
 *
 * Ownership: the resolver owns the context, the thread and the cache;
 * Answers are refcounted because a waiter may time out and leave.
 *
 * Threading: any thread; all state under @lock.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <unbound.h>

#include "mg-resolver.h"

#define RR_TYPE_A     1
#define RR_TYPE_MX    15
#define RR_TYPE_TXT   16
#define RR_TYPE_AAAA  28
#define RR_CLASS_IN   1
#define RCODE_NOERROR 0

G_DEFINE_QUARK (mg-resolver-error-quark, mg_resolver_error)

typedef struct
{
  gint        ref_count;
  MgResolver *owner;        /* not a reference: callbacks end before it goes */
  char       *key;          /* "15 example.org" */
  gboolean    done;
  int         err;          /* libunbound error, 0 = an answer came */
  int         rcode;
  gboolean    nxdomain;
  GPtrArray  *rdata;        /* GBytes* */
  gint64      expires;      /* monotonic */
} Answer;

struct _MgResolver
{
  gint            ref_count;
  struct ub_ctx  *ctx;
  char           *forwarder;
  GThread        *thread;
  int             wake[2];
  GMutex          lock;
  GCond           cond;
  gboolean        quit;
  GHashTable     *cache;      /* key -> Answer* (done) */
  GHashTable     *pending;    /* key -> Answer* (in flight) */
};

/* ---- answers ------------------------------------------------------------------ */

static Answer *
answer_ref (Answer *answer)
{
  g_atomic_int_inc (&answer->ref_count);
  return answer;
}

static void
answer_unref (Answer *answer)
{
  if (!g_atomic_int_dec_and_test (&answer->ref_count))
    return;
  g_free (answer->key);
  g_clear_pointer (&answer->rdata, g_ptr_array_unref);
  g_free (answer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_unref)

void
mg_mail_host_free (MgMailHost *host)
{
  if (host == NULL)
    return;
  g_free (host->name);
  g_ptr_array_unref (host->addresses);
  g_free (host);
}

/* ---- the resolver thread ---------------------------------------------------------- */

/* libunbound's callback, in the resolver thread (inside ub_process). */
static void
on_query_done_cb (void             *data,
                  int               err,
                  struct ub_result *result)
{
  Answer *answer = data;
  MgResolver *self = answer->owner;   /* alive: ub_process runs in its thread */

  g_mutex_lock (&self->lock);
  answer->err = err;
  answer->rdata = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  if (err == 0 && result != NULL)
    {
      answer->rcode = result->rcode;
      answer->nxdomain = result->nxdomain;
      for (guint i = 0; result->havedata && result->data[i] != NULL; i++)
        g_ptr_array_add (answer->rdata, g_bytes_new (result->data[i], result->len[i]));
      answer->expires = g_get_monotonic_time () + (gint64) MAX (result->ttl, 0) * G_USEC_PER_SEC;
      if (result->ttl > 0 && (result->rcode == RCODE_NOERROR || result->nxdomain))
        g_hash_table_replace (self->cache, answer->key, answer_ref (answer));
    }
  answer->done = TRUE;
  g_hash_table_remove (self->pending, answer->key);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (result != NULL)
    ub_resolve_free (result);
  answer_unref (answer);   /* the callback's reference */
}

static gpointer
resolver_thread (gpointer data)
{
  MgResolver *self = data;
  struct pollfd fds[2] = {
    { .fd = ub_fd (self->ctx), .events = POLLIN },
    { .fd = self->wake[0], .events = POLLIN },
  };

  for (;;)
    {
      gboolean quit;

      if (poll (fds, 2, -1) < 0 && errno != EINTR)
        break;
      g_mutex_lock (&self->lock);
      quit = self->quit;
      g_mutex_unlock (&self->lock);
      if (quit)
        break;
      if (fds[0].revents & POLLIN)
        ub_process (self->ctx);
    }
  return NULL;
}

/* ---- life cycle ------------------------------------------------------------------- */

static gboolean
ub_check (int          rc,
          const char  *what,
          GError     **error)
{
  if (rc == 0)
    return TRUE;
  g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_SETUP,
               "%s: %s", what, ub_strerror (rc));
  return FALSE;
}

static gboolean
setup_context (MgResolver  *self,
               GError     **error)
{
  self->ctx = ub_ctx_create ();
  if (self->ctx == NULL)
    {
      g_set_error_literal (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_SETUP,
                           "could not create the libunbound context");
      return FALSE;
    }
  if (!ub_check (ub_ctx_async (self->ctx, 1), "threaded mode", error))
    return FALSE;
  /* the hosts file is honoured first; a missing file is no error */
  ub_ctx_hosts (self->ctx, NULL);
  if (self->forwarder != NULL)
    {
      /* a forwarder on loopback (a local cache, or the tests' dnsmasq) */
      return ub_check (ub_ctx_set_option (self->ctx, "do-not-query-localhost:", "no"),
                       "do-not-query-localhost", error) &&
             ub_check (ub_ctx_set_fwd (self->ctx, self->forwarder),
                       self->forwarder, error);
    }
  return ub_check (ub_ctx_resolvconf (self->ctx, NULL), "reading resolv.conf", error);
}

MgResolver *
mg_resolver_new (const char  *forwarder,
                 GError     **error)
{
  g_autoptr(MgResolver) self = g_new0 (MgResolver, 1);

  self->ref_count = 1;
  self->wake[0] = self->wake[1] = -1;
  self->forwarder = forwarder != NULL && *forwarder != '\0' ? g_strdup (forwarder) : NULL;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) answer_unref);
  self->pending = g_hash_table_new (g_str_hash, g_str_equal);

  if (!setup_context (self, error))
    return NULL;
  if (!g_unix_open_pipe (self->wake, FD_CLOEXEC, error))
    return NULL;
  self->thread = g_thread_new ("mg-resolver", resolver_thread, self);
  return g_steal_pointer (&self);
}

MgResolver *
mg_resolver_ref (MgResolver *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
mg_resolver_unref (MgResolver *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;

  if (self->thread != NULL)
    {
      g_mutex_lock (&self->lock);
      self->quit = TRUE;
      g_mutex_unlock (&self->lock);
      (void) !write (self->wake[1], "q", 1);
      g_thread_join (self->thread);
    }
  if (self->ctx != NULL)
    ub_ctx_delete (self->ctx);   /* outstanding queries: no callbacks any more */
  /* the callbacks' references of queries that never completed */
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    answer_unref (value);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->cache);
  for (guint i = 0; i < 2; i++)
    if (self->wake[i] >= 0)
      close (self->wake[i]);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);
  g_free (self->forwarder);
  g_free (self);
}

const char *
mg_resolver_get_forwarder (MgResolver *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->forwarder != NULL ? self->forwarder : "";
}

/* ---- one query -------------------------------------------------------------------- */

static Answer *
answer_new (MgResolver *self,
            const char *key)
{
  Answer *answer = g_new0 (Answer, 1);

  answer->ref_count = 1;
  answer->owner = self;
  answer->key = g_strdup (key);
  return answer;
}

/* The answer to (@name, @type), from the cache or the network; NULL on a
 * timeout (@error set). */
static Answer *
query (MgResolver  *self,
       const char  *name,
       int          type,
       guint        timeout_seconds,
       GError     **error)
{
  g_autofree char *key = g_strdup_printf ("%d %s", type, name);
  gint64 deadline = g_get_monotonic_time () + (gint64) MAX (timeout_seconds, 1) * G_USEC_PER_SEC;
  Answer *answer;
  gboolean submit = FALSE;

  g_mutex_lock (&self->lock);
  answer = g_hash_table_lookup (self->cache, key);
  if (answer != NULL && answer->expires <= g_get_monotonic_time ())
    {
      g_hash_table_remove (self->cache, key);
      answer = NULL;
    }
  if (answer == NULL)
    answer = g_hash_table_lookup (self->pending, key);
  if (answer == NULL)
    {
      answer = answer_new (self, key);                 /* the callback's reference */
      g_hash_table_insert (self->pending, answer->key, answer);
      submit = TRUE;
    }
  answer_ref (answer);                                 /* ours */
  g_mutex_unlock (&self->lock);

  if (submit)
    {
      int rc = ub_resolve_async (self->ctx, name, type, RR_CLASS_IN,
                                 answer, on_query_done_cb, NULL);

      if (rc != 0)
        {
          g_mutex_lock (&self->lock);
          answer->err = rc;
          answer->done = TRUE;
          g_hash_table_remove (self->pending, answer->key);
          g_cond_broadcast (&self->cond);
          g_mutex_unlock (&self->lock);
          answer_unref (answer);                       /* no callback will come */
        }
    }

  g_mutex_lock (&self->lock);
  while (!answer->done)
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  g_mutex_unlock (&self->lock);

  if (!answer->done)
    {
      g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_TEMPORARY,
                   "DNS lookup of %s timed out", name);
      answer_unref (answer);
      return NULL;
    }
  return answer;
}

static const char *
type_name (int type)
{
  return type == RR_TYPE_MX ? "MX" : type == RR_TYPE_AAAA ? "AAAA" :
         type == RR_TYPE_TXT ? "TXT" : type == RR_TYPE_A ? "A" : "other";
}

/* FALSE with @error for a failed lookup; TRUE for an answer (which may be
 * NXDOMAIN or NODATA: see answer->nxdomain, answer->rdata->len). */
static gboolean
answer_ok (Answer      *answer,
           const char  *name,
           int          type,
           GError     **error)
{
  if (answer->err != 0)
    {
      g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_TEMPORARY,
                   "DNS %s lookup of %s failed: %s", type_name (type), name,
                   ub_strerror (answer->err));
      return FALSE;
    }
  if (answer->rcode != RCODE_NOERROR && !answer->nxdomain)
    {
      g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_TEMPORARY,
                   "DNS %s lookup of %s failed (rcode %d)", type_name (type), name,
                   answer->rcode);
      return FALSE;
    }
  return TRUE;
}

/* ---- lookups ---------------------------------------------------------------------- */

static void
add_addresses (GPtrArray    *addresses,
               Answer       *answer,
               GSocketFamily family)
{
  gsize want = family == G_SOCKET_FAMILY_IPV4 ? 4 : 16;

  for (guint i = 0; i < answer->rdata->len; i++)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (answer->rdata, i), &len);

      if (len == want)
        g_ptr_array_add (addresses, g_inet_address_new_from_bytes (data, family));
    }
}

GPtrArray *
mg_resolver_lookup_host (MgResolver  *self,
                         const char  *name,
                         guint        timeout_seconds,
                         GError     **error)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) a_error = NULL;
  g_autoptr(GError) aaaa_error = NULL;
  g_autoptr(Answer) a = NULL;
  g_autoptr(Answer) aaaa = NULL;
  gboolean a_ok, aaaa_ok;

  g_return_val_if_fail (self != NULL && name != NULL, NULL);

  a = query (self, name, RR_TYPE_A, timeout_seconds, &a_error);
  a_ok = a != NULL && answer_ok (a, name, RR_TYPE_A, &a_error);
  aaaa = query (self, name, RR_TYPE_AAAA, timeout_seconds, &aaaa_error);
  aaaa_ok = aaaa != NULL && answer_ok (aaaa, name, RR_TYPE_AAAA, &aaaa_error);

  if (a_ok)
    add_addresses (addresses, a, G_SOCKET_FAMILY_IPV4);
  if (aaaa_ok)
    add_addresses (addresses, aaaa, G_SOCKET_FAMILY_IPV6);
  if (addresses->len > 0)
    return g_steal_pointer (&addresses);

  if (!a_ok)
    g_propagate_error (error, g_steal_pointer (&a_error));
  else if (!aaaa_ok)
    g_propagate_error (error, g_steal_pointer (&aaaa_error));
  else if (a->nxdomain)
    g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_NOT_FOUND,
                 "host %s not found (NXDOMAIN)", name);
  else
    g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_TEMPORARY,
                 "host %s has no address record", name);
  return NULL;
}

gboolean
mg_resolver_parse_mx_rdata (const guint8  *data,
                            gsize          len,
                            guint         *preference,
                            char         **name)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gsize off = 2;

  if (data == NULL || len < 3)
    return FALSE;
  *preference = ((guint) data[0] << 8) | data[1];
  for (;;)
    {
      guint label;

      if (off >= len)
        return FALSE;
      label = data[off++];
      if (label == 0)
        break;
      if (label > 63 || off + label > len)
        return FALSE;   /* compression pointers never reach us */
      if (out->len > 0)
        g_string_append_c (out, '.');
      g_string_append_len (out, (const char *) data + off, label);
      off += label;
    }
  *name = g_ascii_strdown (out->str, -1);
  return TRUE;
}

static gint
compare_mail_hosts (gconstpointer a,
                    gconstpointer b)
{
  const MgMailHost *ha = *(MgMailHost * const *) a;
  const MgMailHost *hb = *(MgMailHost * const *) b;

  return (gint) ha->preference - (gint) hb->preference;
}

static MgMailHost *
mail_host_new (const char *name,
               guint       preference,
               GPtrArray  *addresses)
{
  MgMailHost *host = g_new0 (MgMailHost, 1);

  host->name = g_strdup (name);
  host->preference = preference;
  host->addresses = addresses;
  return host;
}

/* MX records -> hosts with addresses, preference order. */
static GPtrArray *
resolve_exchanges (MgResolver  *self,
                   const char  *domain,
                   Answer      *mx,
                   guint        timeout_seconds,
                   GError     **error)
{
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_mail_host_free);
  g_autoptr(GError) last_error = NULL;

  for (guint i = 0; i < mx->rdata->len; i++)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (mx->rdata, i), &len);
      g_autofree char *name = NULL;
      guint preference = 0;

      if (!mg_resolver_parse_mx_rdata (data, len, &preference, &name))
        continue;
      if (*name == '\0')
        {
          /* RFC 7505: "MX 0 ." says the domain accepts no mail */
          g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_NULL_MX,
                       "domain %s does not accept mail (null MX)", domain);
          return NULL;
        }
      g_ptr_array_add (hosts, mail_host_new (name, preference, NULL));
    }
  g_ptr_array_sort (hosts, compare_mail_hosts);

  for (guint i = 0; i < hosts->len; )
    {
      MgMailHost *host = g_ptr_array_index (hosts, i);

      g_clear_error (&last_error);
      host->addresses = mg_resolver_lookup_host (self, host->name, timeout_seconds, &last_error);
      if (host->addresses != NULL)
        {
          i++;
          continue;
        }
      host->addresses = g_ptr_array_new ();
      g_ptr_array_remove_index (hosts, i);   /* keeps the order */
    }
  if (hosts->len > 0)
    return g_steal_pointer (&hosts);

  g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_TEMPORARY,
               "no MX host of %s has an address%s%s", domain,
               last_error != NULL ? ": " : "",
               last_error != NULL ? last_error->message : "");
  return NULL;
}

GPtrArray *
mg_resolver_lookup_mail (MgResolver  *self,
                         const char  *domain,
                         guint        timeout_seconds,
                         GError     **error)
{
  g_autoptr(Answer) mx = NULL;
  g_autoptr(GPtrArray) hosts = NULL;
  g_autoptr(GError) local_error = NULL;
  GPtrArray *addresses;

  g_return_val_if_fail (self != NULL && domain != NULL, NULL);

  mx = query (self, domain, RR_TYPE_MX, timeout_seconds, error);
  if (mx == NULL || !answer_ok (mx, domain, RR_TYPE_MX, error))
    return NULL;
  if (mx->nxdomain)
    {
      g_set_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_NOT_FOUND,
                   "domain %s not found (NXDOMAIN)", domain);
      return NULL;
    }
  if (mx->rdata->len > 0)
    return resolve_exchanges (self, domain, mx, timeout_seconds, error);

  /* RFC 5321 5.1: no MX -> the domain itself is the implicit MX */
  addresses = mg_resolver_lookup_host (self, domain, timeout_seconds, &local_error);
  if (addresses == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_mail_host_free);
  g_ptr_array_add (hosts, mail_host_new (domain, 0, addresses));
  return g_steal_pointer (&hosts);
}

/* ---- raw records (SPF, R-1.7) -------------------------------------------------- */

GPtrArray *
mg_resolver_lookup_records (MgResolver  *self,
                            const char  *name,
                            guint16      type,
                            guint        timeout_seconds,
                            gboolean    *nxdomain,
                            GError     **error)
{
  g_autoptr(Answer) answer = NULL;
  GPtrArray *records;

  g_return_val_if_fail (self != NULL && name != NULL && nxdomain != NULL, NULL);

  *nxdomain = FALSE;
  answer = query (self, name, type, timeout_seconds, error);
  if (answer == NULL || !answer_ok (answer, name, type, error))
    return NULL;
  *nxdomain = answer->nxdomain;
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < answer->rdata->len; i++)
    g_ptr_array_add (records, g_bytes_ref (g_ptr_array_index (answer->rdata, i)));
  return records;
}

char *
mg_resolver_parse_txt_rdata (const guint8 *data,
                             gsize         len)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gsize off = 0;

  if (data == NULL)
    return NULL;
  while (off < len)
    {
      gsize chunk = data[off++];

      if (off + chunk > len)
        return NULL;
      g_string_append_len (out, (const char *) data + off, chunk);
      off += chunk;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
