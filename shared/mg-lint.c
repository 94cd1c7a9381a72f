/* mg-lint.c - configuration lint: risky or broken settings, with the fix
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each check is one short function that appends MgLintFinding data; the
 * texts live in one table and are translated only by the client (STYLE.md
 * B5).  Checks on settings that another part of the schema may not have
 * yet (tls.*, auth.*) look the key up first and stay silent without it.
 *
 * Threading: pure functions (mg_lint_certificate reads one file), callable
 * from any thread.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mg-address.h"
#include "mg-lint.h"
#include "mg-route-table.h"
#include "mg-settings.h"

#define CERT_WARN_DAYS 30

/* Public address space wider than this is never a sensible relay client. */
#define PUBLIC_RANGE_MAX_PREFIX_V4 8
#define PUBLIC_RANGE_MAX_PREFIX_V6 32

MgLintFinding *
mg_lint_finding_new (MgLintSeverity  severity,
                     const char     *code,
                     const char     *setting,
                     const char     *arg)
{
  MgLintFinding *finding;

  g_return_val_if_fail (code != NULL, NULL);

  finding = g_new0 (MgLintFinding, 1);
  finding->severity = severity;
  finding->code = g_strdup (code);
  finding->setting = g_strdup (setting != NULL ? setting : "");
  finding->arg = g_strdup (arg != NULL ? arg : "");
  return finding;
}

void
mg_lint_finding_free (MgLintFinding *finding)
{
  if (finding == NULL)
    return;

  g_free (finding->code);
  g_free (finding->setting);
  g_free (finding->arg);
  g_free (finding);
}

static void
add_finding (GPtrArray      *findings,
             MgLintSeverity  severity,
             const char     *code,
             const char     *setting,
             const char     *arg)
{
  g_ptr_array_add (findings, mg_lint_finding_new (severity, code, setting, arg));
}

static char *
format_listener (const MgListenerSpec *listener)
{
  if (strchr (listener->address, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", listener->address, listener->port);
  return g_strdup_printf ("%s:%u", listener->address, listener->port);
}

static gboolean
schema_has (const char *key)
{
  return mg_settings_lookup (key) != NULL;
}

/* ---- R-3.4: ping-pong between the gateway and the internal server ---- */

static void
check_route_loops (MgConfig  *config,
                   GPtrArray *findings)
{
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *route = g_ptr_array_index (config->routes, i);
      const MgListenerSpec *own;
      g_autofree char *setting = NULL;
      g_autofree char *listener = NULL;

      own = mg_route_table_find_own_listener (config, route->host, route->port);
      if (own == NULL)
        continue;
      setting = g_strdup_printf ("route %s", route->domain);
      listener = format_listener (own);
      add_finding (findings, MG_LINT_ERROR, MG_LINT_ROUTE_LOOP, setting, listener);
    }
}

static gboolean
get_smart_host (MgConfig  *config,
                char     **host_out,
                guint16   *port_out)
{
  const char *value = mg_config_get_string (config, "delivery.smarthost");
  guint16 default_port = (guint16) mg_config_get_int (config, "delivery.port");

  if (value == NULL || *value == '\0')
    return FALSE;
  *port_out = default_port;
  return mg_host_port_parse (value, default_port, host_out, port_out);
}

static void
check_smart_host (MgConfig  *config,
                  GPtrArray *findings)
{
  g_autofree char *host = NULL;
  g_autofree char *listener = NULL;
  const MgListenerSpec *own;
  guint16 port = 0;

  if (!get_smart_host (config, &host, &port))
    return;
  own = mg_route_table_find_own_listener (config, host, port);
  if (own == NULL)
    return;
  listener = format_listener (own);
  add_finding (findings, MG_LINT_ERROR, MG_LINT_SMARTHOST_LOOP,
               "delivery.smarthost", listener);
}

static void
check_forward_all (MgConfig  *config,
                   GPtrArray *findings)
{
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (!mg_config_get_bool (config, "delivery.forward_all"))
    return;
  if (get_smart_host (config, &host, &port))
    return;

  for (guint i = 0; i < config->domains->len; i++)
    {
      const MgDomain *domain = g_ptr_array_index (config->domains, i);

      if (mg_config_find_route (config, domain->name) == NULL)
        add_finding (findings, MG_LINT_ERROR, MG_LINT_FORWARD_ALL_NO_HOP,
                     "delivery.forward_all", domain->name);
    }
}

/* ---- R-2.3 method A: backscatter ---- */

static void
check_wildcard_aliases (MgConfig  *config,
                        GPtrArray *findings)
{
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *alias = g_ptr_array_index (config->aliases, i);
      g_autofree char *setting = NULL;

      if (!g_str_has_prefix (alias->alias, "*@"))
        continue;
      setting = g_strdup_printf ("alias %s", alias->alias);
      add_finding (findings, MG_LINT_WARNING, MG_LINT_WILDCARD_ALIAS,
                   setting, alias->alias + 2);
    }
}

/* ---- R-2.4: relay rules that open the gateway ---- */

static const char * const non_public_ranges[] = {
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
  "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
  "::1/128", "fc00::/7", "fe80::/10",
};

/* TRUE when every address of @mask lies in private or special-use space. */
static gboolean
mask_is_private (GInetAddressMask *mask)
{
  GInetAddress *network = g_inet_address_mask_get_address (mask);
  guint length = g_inet_address_mask_get_length (mask);

  for (gsize i = 0; i < G_N_ELEMENTS (non_public_ranges); i++)
    {
      g_autoptr(GInetAddressMask) range =
        g_inet_address_mask_new_from_string (non_public_ranges[i], NULL);

      if (g_inet_address_mask_get_family (range) != g_inet_address_get_family (network))
        continue;
      if (g_inet_address_mask_get_length (range) <= length &&
          g_inet_address_mask_matches (range, network))
        return TRUE;
    }
  return FALSE;
}

static gboolean
rule_opens_public_range (const MgRelayRule *rule)
{
  guint length, limit;

  if (!rule->allow || rule->kind != MG_RELAY_PATTERN_CIDR || rule->mask == NULL)
    return FALSE;
  length = g_inet_address_mask_get_length (rule->mask);
  limit = g_inet_address_mask_get_family (rule->mask) == G_SOCKET_FAMILY_IPV4
          ? PUBLIC_RANGE_MAX_PREFIX_V4 : PUBLIC_RANGE_MAX_PREFIX_V6;
  return length <= limit && !mask_is_private (rule->mask);
}

static void
check_relay_rules (MgConfig  *config,
                   GPtrArray *findings)
{
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = g_ptr_array_index (config->relay_rules, i);
      g_autofree char *setting = NULL;

      if (!rule_opens_public_range (rule))
        continue;
      setting = g_strdup_printf ("relay rule %u", i + 1);
      add_finding (findings, MG_LINT_ERROR, MG_LINT_PUBLIC_RELAY_RANGE,
                   setting, rule->pattern);
    }
}

/* ---- TLS and AUTH (only when the schema has the settings) ---- */

void
mg_lint_certificate (const char *path,
                     gint64      now,
                     GPtrArray  *findings)
{
  g_autofree char *pem = NULL;
  g_autofree char *days_text = NULL;
  X509 *cert = NULL;
  BIO *bio;
  ASN1_TIME *now_asn1;
  int days = 0, seconds = 0;
  gboolean ok;

  g_return_if_fail (path != NULL);
  g_return_if_fail (findings != NULL);

  if (!g_file_get_contents (path, &pem, NULL, NULL))
    {
      add_finding (findings, MG_LINT_ERROR, MG_LINT_CERT_UNREADABLE, "tls.cert", path);
      return;
    }
  bio = BIO_new_mem_buf (pem, -1);
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  BIO_free (bio);
  if (cert == NULL)
    {
      add_finding (findings, MG_LINT_ERROR, MG_LINT_CERT_UNREADABLE, "tls.cert", path);
      return;
    }

  now_asn1 = ASN1_TIME_set (NULL, (time_t) now);
  ok = now_asn1 != NULL &&
       ASN1_TIME_diff (&days, &seconds, now_asn1, X509_get0_notAfter (cert));
  ASN1_TIME_free (now_asn1);
  X509_free (cert);

  if (!ok)
    add_finding (findings, MG_LINT_ERROR, MG_LINT_CERT_UNREADABLE, "tls.cert", path);
  else if (days < 0 || (days == 0 && seconds <= 0))
    add_finding (findings, MG_LINT_ERROR, MG_LINT_CERT_EXPIRED, "tls.cert", path);
  else if (days < CERT_WARN_DAYS)
    {
      days_text = g_strdup_printf ("%d", days);
      add_finding (findings, MG_LINT_WARNING, MG_LINT_CERT_EXPIRING, "tls.cert", days_text);
    }
}

static void
check_certificate (MgConfig  *config,
                   gint64     now,
                   GPtrArray *findings)
{
  const char *path;

  if (!schema_has ("tls.cert"))
    return;
  path = mg_config_get_string (config, "tls.cert");
  if (path == NULL || *path == '\0')
    return;
  mg_lint_certificate (path, now, findings);
}

static gboolean
methods_send_password (const char *methods)
{
  g_auto(GStrv) names = g_strsplit_set (methods, ", ", -1);

  for (gsize i = 0; names[i] != NULL; i++)
    if (g_ascii_strcasecmp (names[i], "PLAIN") == 0 ||
        g_ascii_strcasecmp (names[i], "LOGIN") == 0)
      return TRUE;
  return FALSE;
}

/* auth.require_tls on means AUTH is offered only after STARTTLS (and not
 * at all without a certificate): nothing goes in clear.  Off, PLAIN and
 * LOGIN passwords can cross the network readable: always without a
 * certificate (error), whenever a client skips STARTTLS with one. */
static void
check_auth_tls (MgConfig  *config,
                GPtrArray *findings)
{
  const char *methods, *cert;

  if (!schema_has ("auth.methods") || !schema_has ("auth.require_tls") ||
      !schema_has ("tls.cert"))
    return;
  methods = mg_config_get_string (config, "auth.methods");
  if (methods == NULL || !methods_send_password (methods))
    return;
  if (mg_config_get_bool (config, "auth.require_tls"))
    return;

  cert = mg_config_get_string (config, "tls.cert");
  add_finding (findings,
               cert == NULL || *cert == '\0' ? MG_LINT_ERROR : MG_LINT_WARNING,
               MG_LINT_AUTH_WITHOUT_TLS, "auth.require_tls", methods);
}

/* ---- all checks ---- */

static gint
compare_severity (gconstpointer a,
                  gconstpointer b)
{
  const MgLintFinding *fa = *(const MgLintFinding * const *) a;
  const MgLintFinding *fb = *(const MgLintFinding * const *) b;

  return (int) fb->severity - (int) fa->severity;
}

/**
 * mg_lint_config:
 * @config: the snapshot
 * @now: Unix time for certificate expiry
 *
 * Returns: (transfer full) (element-type MgLintFinding): the findings,
 *   errors first, otherwise in check order
 */
GPtrArray *
mg_lint_config (MgConfig *config,
                gint64    now)
{
  g_autoptr(GPtrArray) findings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mg_lint_finding_free);

  g_return_val_if_fail (config != NULL, NULL);

  check_route_loops (config, findings);
  check_smart_host (config, findings);
  check_forward_all (config, findings);
  check_relay_rules (config, findings);
  check_auth_tls (config, findings);
  check_certificate (config, now, findings);
  check_wildcard_aliases (config, findings);

  g_ptr_array_sort (findings, compare_severity);   /* stable since GLib 2.32 */
  return g_steal_pointer (&findings);
}

/* ---- texts ---- */

const char *
mg_lint_severity_to_string (MgLintSeverity severity)
{
  return severity == MG_LINT_ERROR ? "error" : "warning";
}

gboolean
mg_lint_severity_from_string (const char     *text,
                              MgLintSeverity *out)
{
  if (g_strcmp0 (text, "error") == 0)
    *out = MG_LINT_ERROR;
  else if (g_strcmp0 (text, "warning") == 0)
    *out = MG_LINT_WARNING;
  else
    return FALSE;
  return TRUE;
}

/* Each message takes the setting first, then the argument (use %1$s /
 * %2$s to reorder); each fix takes the same two. */
typedef struct
{
  const char *code;
  const char *message;
  const char *fix;
} LintText;

static const LintText lint_texts[] = {
  /* TRANSLATORS: first %s is e.g. "route corp.example", second a listening address */
  { MG_LINT_ROUTE_LOOP,
    N_("%s points at this gateway's own listener %s: mail would loop between the gateway and itself."),
    N_("Change %s to the internal mail server's address and port (not %s).") },
  { MG_LINT_SMARTHOST_LOOP,
    N_("%s points at this gateway's own listener %s: every outgoing message would loop."),
    N_("Set %s to the provider's relay host, or leave it empty to deliver by MX (not %s).") },
  /* TRANSLATORS: second %s is a domain name */
  { MG_LINT_FORWARD_ALL_NO_HOP,
    N_("%s is on but the local domain %s has no route and there is no smart host: its mail cannot be delivered."),
    N_("Add a route for %2$s (route add %2$s HOST PORT) or set delivery.smarthost; %1$s stays on.") },
  { MG_LINT_WILDCARD_ALIAS,
    N_("%s accepts mail for every address of %s: spam to made-up users passes to the internal server, and its bounces (backscatter) go back out."),
    N_("Replace %s with one alias per real user, or add the domain %s with its accounts (seed method B or C).") },
  /* TRANSLATORS: second %s is a network such as 0.0.0.0/0 */
  { MG_LINT_PUBLIC_RELAY_RANGE,
    N_("%s allows the whole public range %s to relay: the gateway is an open relay for it."),
    N_("Narrow %s to the internal network's addresses (for example 192.168.0.0/24) instead of %s.") },
  /* TRANSLATORS: second %s is a number of days */
  { MG_LINT_CERT_EXPIRING,
    N_("The certificate in %s expires in %s days."),
    N_("Install a renewed certificate at the path in %s before the %s days are up; the receiver loads it by itself when the file changes.") },
  /* TRANSLATORS: second %s is a file name */
  { MG_LINT_CERT_EXPIRED,
    N_("The certificate in %s (%s) has expired: clients refuse STARTTLS with it."),
    N_("Install a renewed certificate at the path in %s (replacing %s); the receiver loads it by itself when the file changes.") },
  { MG_LINT_CERT_UNREADABLE,
    N_("The certificate in %s (%s) cannot be read as a PEM certificate."),
    N_("Point %s at a readable PEM certificate file (not %s).") },
  /* TRANSLATORS: second %s is a list of SMTP AUTH methods such as "PLAIN,LOGIN" */
  { MG_LINT_AUTH_WITHOUT_TLS,
    N_("%s is off: clients may send passwords readable on the network (%s) without TLS."),
    N_("Turn %s on (with tls.cert and tls.key set), or remove PLAIN and LOGIN from auth.methods (now %s).") },
};

static const LintText *
find_text (const char *code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (lint_texts); i++)
    if (g_strcmp0 (lint_texts[i].code, code) == 0)
      return &lint_texts[i];
  return NULL;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *
format_text (const char          *format,
             const MgLintFinding *finding)
{
  return g_strdup_printf (_(format), finding->setting, finding->arg);
}
#pragma GCC diagnostic pop

char *
mg_lint_finding_message (const MgLintFinding *finding)
{
  const LintText *text;

  g_return_val_if_fail (finding != NULL, NULL);

  text = find_text (finding->code);
  if (text == NULL)
    /* TRANSLATORS: a finding from a newer daemon: setting, code, argument */
    return g_strdup_printf (_("%s: %s (%s)"), finding->setting, finding->code, finding->arg);
  return format_text (text->message, finding);
}

char *
mg_lint_finding_fix (const MgLintFinding *finding)
{
  const LintText *text;

  g_return_val_if_fail (finding != NULL, NULL);

  text = find_text (finding->code);
  if (text == NULL)
    return g_strdup (_("See the documentation of this setting."));
  return format_text (text->fix, finding);
}

GVariant *
mg_lint_findings_to_variant (GPtrArray *findings)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssss)"));
  for (guint i = 0; findings != NULL && i < findings->len; i++)
    {
      const MgLintFinding *finding = g_ptr_array_index (findings, i);

      g_variant_builder_add (&builder, "(ssss)",
                             mg_lint_severity_to_string (finding->severity),
                             finding->code, finding->setting, finding->arg);
    }
  return g_variant_builder_end (&builder);
}

GPtrArray *
mg_lint_findings_from_variant (GVariant *variant)
{
  GPtrArray *findings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mg_lint_finding_free);
  const char *severity, *code, *setting, *arg;
  GVariantIter iter;

  g_return_val_if_fail (variant != NULL, findings);

  g_variant_iter_init (&iter, variant);
  while (g_variant_iter_next (&iter, "(&s&s&s&s)", &severity, &code, &setting, &arg))
    {
      MgLintSeverity level = MG_LINT_WARNING;

      mg_lint_severity_from_string (severity, &level);
      g_ptr_array_add (findings, mg_lint_finding_new (level, code, setting, arg));
    }
  return findings;
}
