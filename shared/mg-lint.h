/* mg-lint.h - configuration lint: risky or broken settings, with the fix
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * mg_lint_config() looks at one configuration snapshot and lists findings:
 * mail loops, backscatter through wildcard aliases (R-2.3 method
 * A), relay rules opening a whole public range, and, when the
 * schema has them, TLS and AUTH settings.  A finding is data (severity,
 * code, setting, argument) so it crosses the control socket untranslated;
 * clients turn it into text with mg_lint_finding_message() and
 * mg_lint_finding_fix() in their own locale.
 *
 * Threading: pure functions (mg_lint_certificate reads one file), callable
 * from any thread.
 */
#pragma once

#include "mg-config.h"

G_BEGIN_DECLS

typedef enum
{
  MG_LINT_WARNING,    /* works, but is risky */
  MG_LINT_ERROR,      /* mail is lost, loops, or the gateway is open */
} MgLintSeverity;

/* Finding codes (stable strings, never translated) */
#define MG_LINT_ROUTE_LOOP          "route-loop"           /* setting "route DOMAIN", arg: our listener */
#define MG_LINT_SMARTHOST_LOOP      "smarthost-loop"       /* setting delivery.smarthost, arg: our listener */
#define MG_LINT_FORWARD_ALL_NO_HOP  "forward-all-no-route" /* setting delivery.forward_all, arg: the domain */
#define MG_LINT_WILDCARD_ALIAS      "wildcard-alias"       /* setting "alias *@DOMAIN", arg: the domain */
#define MG_LINT_PUBLIC_RELAY_RANGE  "public-relay-range"   /* setting "relay rule N", arg: the pattern */
#define MG_LINT_CERT_EXPIRING       "cert-expiring"        /* setting tls.cert, arg: days left */
#define MG_LINT_CERT_EXPIRED        "cert-expired"         /* setting tls.cert, arg: the file */
#define MG_LINT_CERT_UNREADABLE     "cert-unreadable"      /* setting tls.cert, arg: the file */
#define MG_LINT_AUTH_WITHOUT_TLS    "auth-without-tls"     /* setting auth.require_tls, arg: auth.methods */

typedef struct
{
  MgLintSeverity  severity;
  char           *code;
  char           *setting;   /* what to change: a key, "route DOMAIN", "relay rule N", ... */
  char           *arg;
} MgLintFinding;

MgLintFinding *mg_lint_finding_new     (MgLintSeverity  severity,
                                        const char     *code,
                                        const char     *setting,
                                        const char     *arg);
void           mg_lint_finding_free    (MgLintFinding  *finding);

/* Returns (transfer full): GPtrArray of MgLintFinding*, errors first,
 * empty when nothing is wrong.  @now is the Unix time certificate expiry
 * is measured against. */
GPtrArray     *mg_lint_config          (MgConfig       *config,
                                        gint64          now);

/* The certificate check alone: appends at most one finding for the PEM
 * certificate at @path to @findings. */
void           mg_lint_certificate     (const char     *path,
                                        gint64          now,
                                        GPtrArray      *findings);

/* "error" / "warning" and back (FALSE for an unknown name) */
const char    *mg_lint_severity_to_string   (MgLintSeverity  severity);
gboolean       mg_lint_severity_from_string (const char     *text,
                                             MgLintSeverity *out);

/* Translated one-sentence texts (transfer full): what is wrong, and how
 * to fix it.  Unknown codes get a generic text naming the code. */
char          *mg_lint_finding_message (const MgLintFinding *finding);
char          *mg_lint_finding_fix     (const MgLintFinding *finding);

/* a(ssss) = (severity, code, setting, arg) <-> GPtrArray */
GVariant      *mg_lint_findings_to_variant   (GPtrArray *findings);   /* floating */
GPtrArray     *mg_lint_findings_from_variant (GVariant  *variant);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgLintFinding, mg_lint_finding_free)

G_END_DECLS
