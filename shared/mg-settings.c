/* mg-settings.c - the settings schema and the validation of one value
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The table below is the single list of settings: key, type, default,
 * range, summary.  mg_settings_normalise() is the one validation path for a
 * setting value (the config store calls it for every change); it returns the
 * normalised text that is stored, or appends a problem naming the key.
 * The table is static and read-only.
 *
 * Threading: pure functions, callable from any thread.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "mg-address.h"
#include "mg-config.h"
#include "mg-problem.h"
#include "mg-settings.h"

#define MAX_PATH_LENGTH 4096

static const MgSettingInfo settings[] = {
  /* Receiver (R-1) */
  { "receiver.autostart", MG_SETTING_BOOL, "true", 0, 0,
    N_("Start the receiver when the service starts") },
  { "receiver.hostname", MG_SETTING_HOST, "", 0, 0,
    N_("Host name used in the greeting and Received: headers (empty: the system host name)") },
  { "receiver.banner_show", MG_SETTING_BOOL, "true", 0, 0,   /* R-1.3 */
    N_("Show the greeting message text") },
  { "receiver.max_message_size", MG_SETTING_INT, "10485760", 0, G_MAXINT32,   /* R-1.4 */
    N_("Largest message accepted, in bytes (0: unlimited)") },
  { "receiver.max_recipients", MG_SETTING_INT, "1000", 1, 100000,
    N_("Most recipients accepted for one message") },
  { "receiver.accept_limit", MG_SETTING_INT, "1000", 0, 1000000,
    N_("Most clients connected at once (0: unlimited)") },
  { "receiver.timeout", MG_SETTING_INT, "300", 1, 86400,
    N_("Seconds to wait for the next command") },
  { "receiver.data_timeout", MG_SETTING_INT, "300", 1, 86400,
    N_("Seconds to wait for more message data") },
  { "receiver.max_received_headers", MG_SETTING_INT, "20", 1, 1000,
    N_("Most Received: headers in a message before it is refused as a mail loop") },
  { "receiver.max_line_length", MG_SETTING_INT, "10000", 0, 1048576,
    N_("Longest line of message data, in bytes (0: unlimited)") },
  { "receiver.vrfy", MG_SETTING_BOOL, "false", 0, 0,
    N_("Answer VRFY and EXPN commands") },

  /* Delivery (R-3) */
  { "delivery.autostart", MG_SETTING_BOOL, "true", 0, 0,
    N_("Start delivery when the service starts") },
  { "delivery.forward_all", MG_SETTING_BOOL, "true", 0, 0,   /* R-3.3 */
    N_("Forward all received mail, local domains included, by the routing table or the smart host") },
  { "delivery.smarthost", MG_SETTING_HOST_PORT, "", 0, 0,    /* R-3.2 */
    N_("Smart host for mail to other domains (host[:port]; empty: deliver by MX)") },
  { "delivery.port", MG_SETTING_INT, "25", 1, 65535,         /* R-3.5 */
    N_("Port used for outbound delivery") },
  { "delivery.retry_interval", MG_SETTING_INT, "120", 1, 86400,  /* R-3.7 */
    N_("Seconds before the first retry of a deferred message") },
  { "delivery.give_up_error", MG_SETTING_INT, "28800", 1, 2592000,
    N_("Seconds after which a message that keeps getting error replies is returned") },
  { "delivery.give_up_no_response", MG_SETTING_INT, "86400", 1, 2592000,
    N_("Seconds after which a message whose next hop does not answer is returned") },
  { "delivery.mailbox_dir", MG_SETTING_STRING, "mailbox/%USERNAME%", 0, MAX_PATH_LENGTH,
    N_("Mailbox folder of a local user (must contain %USERNAME%)") },
  { "delivery.workers", MG_SETTING_INT, "30", 1, 1000,         /* R-3.6 */
    N_("Deliveries running at once") },
  { "delivery.max_per_destination", MG_SETTING_INT, "20", 1, 1000,
    N_("Deliveries running at once to one destination") },
  { "delivery.max_messages_per_connection", MG_SETTING_INT, "100", 1, 100000,
    N_("Messages sent over one connection before it is closed") },
  { "delivery.connect_timeout", MG_SETTING_INT, "30", 1, 3600,
    N_("Seconds to wait for a connection to the next hop") },
  { "delivery.timeout", MG_SETTING_INT, "600", 1, 86400,
    N_("Seconds to wait for a reply from the next hop") },
  { "delivery.helo_name", MG_SETTING_HOST, "", 0, 0,
    N_("Name sent in EHLO to the next hop (empty: the receiver host name)") },
  { "dns.forwarder", MG_SETTING_STRING, "", 0, 64,            /* R-3.1 */
    N_("DNS server for MX lookups as IP[@PORT] (empty: the system resolver)") },
  { "delivery.report_language", MG_SETTING_STRING, "en", 0, 2,   /* R-3.7 */
    N_("Language of the failure reports sent to senders: en or ja") },
  { "delivery.postmaster", MG_SETTING_STRING, "", 0, 254,
    N_("Postmaster address for report copies (empty: postmaster at the receiver host name)") },
  { "delivery.fail_report_copy", MG_SETTING_BOOL, "false", 0, 0,
    N_("Send the postmaster a copy of every failure report") },
  { "delivery.delay_warning", MG_SETTING_INT, "0", 0, 2592000,
    N_("Seconds after which the sender is warned of a delayed message (0: never)") },

  /* Front door: SMTP AUTH (R-2.5), TLS (R-1.1), sender protection (R-2.6) */
  { "auth.methods", MG_SETTING_STRING, "PLAIN,LOGIN,CRAM-MD5", 0, 64,
    N_("SMTP AUTH mechanisms offered, comma separated: PLAIN, LOGIN, CRAM-MD5 (empty: no SMTP AUTH)") },
  { "auth.require_tls", MG_SETTING_BOOL, "true", 0, 0,
    N_("Offer and accept SMTP AUTH only over TLS") },
  { "auth.failure_delay", MG_SETTING_INT, "1", 0, 60,
    N_("Seconds before answering a failed login; doubles with each further failure from the same client address") },
  { "auth.max_failures", MG_SETTING_INT, "10", 1, 100000,
    N_("Failed logins from one client address within 15 minutes before it may not log in any more") },
  { "tls.cert", MG_SETTING_STRING, "", 0, MAX_PATH_LENGTH,
    N_("Certificate file (PEM, with its chain) for STARTTLS and implicit-TLS listeners (empty: no TLS)") },
  { "tls.key", MG_SETTING_STRING, "", 0, MAX_PATH_LENGTH,
    N_("Private key file (PEM) of the certificate") },
  { "receiver.protected_senders", MG_SETTING_STRING, "", 0, MAX_PATH_LENGTH,
    N_("Sender addresses outside clients may not use without logging in, comma separated (postmaster of every local domain always)") },
  { "receiver.require_reverse_dns", MG_SETTING_BOOL, "false", 0, 0,   /* R-1.7 */
    N_("Refuse mail from clients whose address has no host name that maps back to it (logged-in and relay-allowed clients excepted)") },
  { "receiver.spf", MG_SETTING_STRING, "off", 0, 6,                 /* R-1.7 */
    N_("SPF check of the sender: off, header (add a Received-SPF: header) or reject (also refuse SPF failures; logged-in and relay-allowed clients excepted)") },
  { "receiver.proxy_trusted", MG_SETTING_STRING, "", 0, MAX_PATH_LENGTH,
    N_("Load balancers whose PROXY protocol header (v1 or v2) gives the real client address: IP addresses or CIDR ranges, comma separated (empty: none)") },
  { "metrics.listen", MG_SETTING_STRING, "", 0, 64,
    N_("Loopback address and port of the Prometheus metrics endpoint, e.g. 127.0.0.1:9325 (empty: off)") },
};

const MgSettingInfo *
mg_settings_lookup (const char *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      if (g_str_equal (settings[i].key, key))
        return &settings[i];
    }
  return NULL;
}

const MgSettingInfo *
mg_settings_list (gsize *n_settings)
{
  if (n_settings != NULL)
    *n_settings = G_N_ELEMENTS (settings);
  return settings;
}

static char *
normalise_bool (const MgSettingInfo *info,
                const char          *value,
                GPtrArray           *problems)
{
  static const char * const yes[] = { "true", "yes", "on", "1" };
  static const char * const no[] = { "false", "no", "off", "0" };

  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (value, yes[i]) == 0)
        return g_strdup ("true");
      if (g_ascii_strcasecmp (value, no[i]) == 0)
        return g_strdup ("false");
    }
  mg_problems_add (problems, MG_PROBLEM_NOT_A_BOOLEAN, info->key, value);
  return NULL;
}

/* Decimal only: optional '-', digits, nothing else.  Overflow counts as out
 * of range. */
static gboolean
parse_decimal (const char *text,
               gboolean   *overflow,
               gint64     *out)
{
  const char *p = text;
  gboolean negative = FALSE;
  guint64 magnitude = 0;

  *overflow = FALSE;
  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  if (*p == '\0')
    return FALSE;

  for (; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      if (magnitude > ((guint64) G_MAXINT64) / 10)
        *overflow = TRUE;
      else
        magnitude = magnitude * 10 + (guint64) (*p - '0');
      if (magnitude > (guint64) G_MAXINT64)
        *overflow = TRUE;
    }

  *out = negative ? -(gint64) magnitude : (gint64) magnitude;
  return TRUE;
}

static char *
normalise_int (const MgSettingInfo *info,
               const char          *value,
               GPtrArray           *problems)
{
  gboolean overflow;
  gint64 number = 0;

  if (!parse_decimal (value, &overflow, &number))
    {
      mg_problems_add (problems, MG_PROBLEM_NOT_A_NUMBER, info->key, value);
      return NULL;
    }
  if (overflow || number < info->min || number > info->max)
    {
      g_autofree char *range = g_strdup_printf ("%" G_GINT64_FORMAT ".."
                                                "%" G_GINT64_FORMAT,
                                                info->min, info->max);

      mg_problems_add (problems, MG_PROBLEM_OUT_OF_RANGE, info->key, range);
      return NULL;
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT, number);
}

static gboolean
has_control_chars (const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return TRUE;
    }
  return FALSE;
}

/* dns.forwarder: "" or "IP[@PORT]" (libunbound's ub_ctx_set_fwd form) */
static gboolean
forwarder_is_valid (const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, "@", 2);
  guint64 port = 0;

  if (*value == '\0')
    return TRUE;
  if (!g_hostname_is_ip_address (parts[0]))
    return FALSE;
  return parts[1] == NULL ||
         (g_ascii_string_to_unsigned (parts[1], 10, 1, 65535, &port, NULL));
}

/* auth.methods: "plain, cram-md5" -> "PLAIN,CRAM-MD5"; unknown names refused. */
static char *
normalise_auth_methods (const char *value)
{
  static const char * const known[] = { "PLAIN", "LOGIN", "CRAM-MD5" };
  g_auto(GStrv) names = g_strsplit (value, ",", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (gsize i = 0; names[i] != NULL; i++)
    {
      const char *name = g_strstrip (names[i]);
      gboolean found = FALSE;

      if (*name == '\0' && names[1] == NULL)
        break;   /* "": no mechanism */
      for (gsize k = 0; k < G_N_ELEMENTS (known); k++)
        found = found || g_ascii_strcasecmp (name, known[k]) == 0;
      if (!found)
        return NULL;
      if (out->len > 0)
        g_string_append_c (out, ',');
      g_string_append (out, name);
    }
  return g_ascii_strup (out->str, -1);
}

/* receiver.protected_senders: mailboxes, canonical, comma separated. */
static char *
normalise_mailbox_list (const char *value)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      g_autofree char *canonical = NULL;
      const char *item = g_strstrip (items[i]);

      if (*item == '\0' && items[1] == NULL)
        break;
      if ((canonical = mg_mailbox_canonical (item)) == NULL)
        return NULL;
      if (out->len > 0)
        g_string_append_c (out, ',');
      g_string_append (out, canonical);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Checks a few string settings need beyond their length. */
/* receiver.proxy_trusted: "" or IP addresses / CIDR ranges, comma separated,
 * normalised and joined with "," */
static char *
normalise_address_list (const char *value)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; items[i] != NULL; i++)
    {
      char *normalised = NULL;
      MgRelayPatternKind kind;

      if (*g_strstrip (items[i]) == '\0')
        continue;
      if (!mg_relay_rule_parse (items[i], &normalised, &kind, NULL))
        return NULL;
      if (kind != MG_RELAY_PATTERN_ADDRESS_IP && kind != MG_RELAY_PATTERN_CIDR)
        {
          g_free (normalised);
          return NULL;
        }
      g_ptr_array_add (out, normalised);
    }
  g_ptr_array_add (out, NULL);
  return g_strjoinv (",", (char **) out->pdata);
}

/* metrics.listen: "" or a loopback IP literal with a port: the metrics are
 * for the machine's own monitoring agent, never published. */
static char *
normalise_metrics_listen (const char *value)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint16 port = 0;

  if (*value == '\0')
    return g_strdup ("");
  if (!mg_host_port_parse (value, 0, &host, &port) || port == 0)
    return NULL;
  address = g_inet_address_new_from_string (host);
  if (address == NULL || !g_inet_address_get_is_loopback (address))
    return NULL;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static char *
normalise_string_extra (const MgSettingInfo *info,
                        const char          *value,
                        GPtrArray           *problems)
{
  char *result = NULL;

  if (g_str_equal (info->key, "delivery.mailbox_dir"))
    {
      /* R-3.3: the template names the user */
      if (strstr (value, "%USERNAME%") != NULL)
        result = g_strdup (value);
    }
  else if (g_str_equal (info->key, "auth.methods"))
    result = normalise_auth_methods (value);
  else if (g_str_equal (info->key, "receiver.protected_senders"))
    result = normalise_mailbox_list (value);
  else if (g_str_equal (info->key, "dns.forwarder"))
    {
      if (forwarder_is_valid (value))
        result = g_strdup (value);
    }
  else if (g_str_equal (info->key, "receiver.proxy_trusted"))
    result = normalise_address_list (value);
  else if (g_str_equal (info->key, "metrics.listen"))
    result = normalise_metrics_listen (value);
  else if (g_str_equal (info->key, "receiver.spf"))
    {
      g_autofree char *lower = g_ascii_strdown (value, -1);

      if (g_str_equal (lower, "off") || g_str_equal (lower, "header") || g_str_equal (lower, "reject"))
        result = g_steal_pointer (&lower);
    }
  else if (g_str_equal (info->key, "delivery.report_language"))
    {
      if (g_str_equal (value, "en") || g_str_equal (value, "ja"))
        result = g_strdup (value);
    }
  else if (g_str_equal (info->key, "delivery.postmaster"))
    {
      /* "" or a mailbox, stored canonical */
      result = *value == '\0' ? g_strdup ("") : mg_mailbox_canonical (value);
    }
  else
    result = g_strdup (value);

  if (result == NULL)
    mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, info->key, value);
  return result;
}

static char *
normalise_string (const MgSettingInfo *info,
                  const char          *value,
                  GPtrArray           *problems)
{
  if (!g_utf8_validate (value, -1, NULL) || has_control_chars (value))
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, info->key, value);
      return NULL;
    }
  if ((gint64) g_utf8_strlen (value, -1) > info->max)
    {
      g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT, info->max);

      mg_problems_add (problems, MG_PROBLEM_TOO_LONG, info->key, max);
      return NULL;
    }
  return normalise_string_extra (info, value, problems);
}

static char *
normalise_host (const MgSettingInfo *info,
                const char          *value,
                GPtrArray           *problems)
{
  char *canonical;

  if (*value == '\0')
    return g_strdup ("");

  canonical = mg_domain_canonical (value);
  if (canonical == NULL)
    mg_problems_add (problems, MG_PROBLEM_INVALID_HOST, info->key, value);
  return canonical;
}

/* "host" or "host:port", IPv6 literals in brackets; the port is kept only
 * when given (otherwise delivery.port applies). */
static char *
normalise_host_port (const MgSettingInfo *info,
                     const char          *value,
                     GPtrArray           *problems)
{
  g_autofree char *host = NULL;
  g_autofree char *canonical = NULL;
  guint16 port = 0;

  if (*value == '\0')
    return g_strdup ("");

  if (!mg_host_port_parse (value, 0, &host, &port) ||
      (canonical = mg_host_canonical (host)) == NULL)
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_HOST, info->key, value);
      return NULL;
    }

  if (strchr (canonical, ':') != NULL)
    {
      if (port == 0)
        return g_strdup_printf ("[%s]", canonical);
      return g_strdup_printf ("[%s]:%u", canonical, port);
    }
  if (port == 0)
    return g_steal_pointer (&canonical);
  return g_strdup_printf ("%s:%u", canonical, port);
}

/**
 * mg_settings_normalise:
 * @key: a setting key
 * @value: the value as entered
 * @problems: where a problem is appended (field = @key)
 *
 * Returns: (transfer full) (nullable): the normalised value, or %NULL when
 *   @value is refused
 */
char *
mg_settings_normalise (const char *key,
                       const char *value,
                       GPtrArray  *problems)
{
  const MgSettingInfo *info;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (problems != NULL, NULL);

  info = mg_settings_lookup (key);
  if (info == NULL)
    {
      mg_problems_add (problems, MG_PROBLEM_UNKNOWN_KEY, key, key);
      return NULL;
    }

  switch (info->type)
    {
    case MG_SETTING_BOOL:
      return normalise_bool (info, value, problems);
    case MG_SETTING_INT:
      return normalise_int (info, value, problems);
    case MG_SETTING_STRING:
      return normalise_string (info, value, problems);
    case MG_SETTING_HOST:
      return normalise_host (info, value, problems);
    case MG_SETTING_HOST_PORT:
      return normalise_host_port (info, value, problems);
    default:
      g_assert_not_reached ();
    }
  return NULL;
}
