/* mg-spf.c - SPF check_host() of RFC 7208 (pure: DNS through a callback)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A record is first parsed whole (a syntax error anywhere is a permerror,
 * even behind a matching term), then its mechanisms are evaluated left to
 * right; redirect= applies when none matched.  One Eval carries what the
 * whole evaluation shares: the client, the sender, the callback and the
 * two lookup counters of 4.6.4.
 *
 * Ownership: everything is local to one mg_spf_check_host() call.
 * Threading: any thread.
 */
#include "config.h"

#include <string.h>

#include "mg-spf.h"

#define MAX_DNS_TERMS     10   /* RFC 7208 4.6.4 */
#define MAX_VOID_LOOKUPS  2
#define MAX_MX_NAMES      10

typedef struct
{
  GInetAddress    *client;
  guint8           ip[16];
  gsize            ip_len;        /* 4 or 16 */
  const char      *sender;
  char            *local_part;
  char            *sender_domain;
  const char      *helo;
  MgSpfLookupFunc  lookup;
  gpointer         user_data;
  guint            n_dns_terms;
  guint            n_void;
  char            *error;         /* why a permerror / temperror */
} Eval;

typedef enum
{
  TERM_ALL, TERM_INCLUDE, TERM_A, TERM_MX, TERM_PTR, TERM_IP4, TERM_IP6, TERM_EXISTS,
} TermKind;

typedef struct
{
  char      qualifier;     /* + - ~ ? */
  TermKind  kind;
  char     *text;          /* as written, for the trace */
  char     *domain_spec;   /* nullable: the current domain */
  char     *address;       /* ip4 / ip6 */
  gint      cidr4;         /* -1: whole address */
  gint      cidr6;
} Term;

static void
term_free (Term *term)
{
  g_free (term->text);
  g_free (term->domain_spec);
  g_free (term->address);
  g_free (term);
}

const char *
mg_spf_result_to_string (MgSpfResult result)
{
  switch (result)
    {
    case MG_SPF_NONE:      return "none";
    case MG_SPF_NEUTRAL:   return "neutral";
    case MG_SPF_PASS:      return "pass";
    case MG_SPF_FAIL:      return "fail";
    case MG_SPF_SOFTFAIL:  return "softfail";
    case MG_SPF_TEMPERROR: return "temperror";
    case MG_SPF_PERMERROR: return "permerror";
    default:               return "unknown";
    }
}

static MgSpfResult
fail_with (Eval        *eval,
           MgSpfResult  result,
           const char  *format,
           ...) G_GNUC_PRINTF (3, 4);

static MgSpfResult
fail_with (Eval        *eval,
           MgSpfResult  result,
           const char  *format,
           ...)
{
  va_list args;

  if (eval->error == NULL)
    {
      va_start (args, format);
      eval->error = g_strdup_vprintf (format, args);
      va_end (args);
    }
  return result;
}

/* ---- macros (RFC 7208 7) ------------------------------------------------ */

static char *
client_ip_macro (Eval     *eval,
                 gboolean  v_macro)
{
  GString *out;

  if (eval->ip_len == 4)
    {
      if (v_macro)
        return g_strdup ("in-addr");
      return g_strdup_printf ("%u.%u.%u.%u", eval->ip[0], eval->ip[1], eval->ip[2], eval->ip[3]);
    }
  if (v_macro)
    return g_strdup ("ip6");
  out = g_string_new (NULL);
  for (gsize i = 0; i < 16; i++)
    g_string_append_printf (out, "%s%x.%x", i > 0 ? "." : "", eval->ip[i] >> 4, eval->ip[i] & 0xf);
  return g_string_free (out, FALSE);
}

/* Applies the digits / "r" / delimiters of one macro to @value. */
static char *
transform (const char *value,
           guint       digits,
           gboolean    reverse,
           const char *delimiters)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autofree char *copy = g_strdup (value);
  GString *out = g_string_new (NULL);
  char *start = copy;
  guint first = 0;

  for (char *p = copy; ; p++)
    {
      if (*p == '\0' || strchr (delimiters, *p) != NULL)
        {
          gboolean end = *p == '\0';

          *p = '\0';
          g_ptr_array_add (parts, start);
          start = p + 1;
          if (end)
            break;
        }
    }
  if (reverse)
    for (guint i = 0; i < parts->len / 2; i++)
      {
        gpointer tmp = parts->pdata[i];

        parts->pdata[i] = parts->pdata[parts->len - 1 - i];
        parts->pdata[parts->len - 1 - i] = tmp;
      }
  if (digits > 0 && digits < parts->len)
    first = parts->len - digits;
  for (guint i = first; i < parts->len; i++)
    g_string_append_printf (out, "%s%s", i > first ? "." : "", (char *) parts->pdata[i]);
  return g_string_free (out, FALSE);
}

/* Expands a domain-spec for @domain; NULL (permerror) on a bad macro. */
static char *
expand (Eval       *eval,
        const char *spec,
        const char *domain)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = spec; *p != '\0'; p++)
    {
      g_autofree char *value = NULL;
      g_autofree char *done = NULL;
      g_autofree char *delimiters = NULL;
      const char *end;
      guint digits = 0;
      gboolean reverse = FALSE;
      gboolean upper;
      char letter;

      if (*p != '%')
        {
          g_string_append_c (out, *p);
          continue;
        }
      p++;
      if (*p == '%')
        { g_string_append_c (out, '%'); continue; }
      if (*p == '_')
        { g_string_append_c (out, ' '); continue; }
      if (*p == '-')
        { g_string_append (out, "%20"); continue; }
      if (*p != '{' || (end = strchr (p, '}')) == NULL)
        return NULL;
      p++;
      upper = g_ascii_isupper (*p);
      letter = g_ascii_tolower (*p);
      switch (letter)
        {
        case 's': value = g_strdup (eval->sender); break;
        case 'l': value = g_strdup (eval->local_part); break;
        case 'o': value = g_strdup (eval->sender_domain); break;
        case 'd': value = g_strdup (domain); break;
        case 'i': value = client_ip_macro (eval, FALSE); break;
        case 'v': value = client_ip_macro (eval, TRUE); break;
        case 'h': value = g_strdup (eval->helo != NULL ? eval->helo : "unknown"); break;
        case 'p': value = g_strdup ("unknown"); break;
        default:  return NULL;   /* c r t: exp= only; anything else: no macro */
        }
      p++;
      if (g_ascii_isdigit (*p))
        {
          while (g_ascii_isdigit (*p))
            digits = digits * 10 + (guint) (*p++ - '0');
          if (digits == 0 || digits > 128)
            return NULL;
        }
      if (*p == 'r' || *p == 'R')
        {
          reverse = TRUE;
          p++;
        }
      if (p > end)
        return NULL;
      delimiters = g_strndup (p, end - p);
      for (const char *d = delimiters; *d != '\0'; d++)
        if (strchr (".-+,/_=", *d) == NULL)
          return NULL;
      done = transform (value, digits, reverse, *delimiters != '\0' ? delimiters : ".");
      if (upper)
        {
          /* 7.3: upper-case macros are URL-escaped */
          char *escaped = g_uri_escape_string (done, NULL, FALSE);

          g_free (done);
          done = escaped;
        }
      g_string_append (out, done);
      p = end;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- parsing ------------------------------------------------------------- */

static gboolean
parse_cidr (const char *text,
            gint        max,
            gint       *out)
{
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 0, (guint64) max, &value, NULL) ||
      (text[0] == '0' && text[1] != '\0'))
    return FALSE;
  *out = (gint) value;
  return TRUE;
}

/* "domain/24//64" -> domain-spec (nullable) and the two lengths. */
static gboolean
parse_dual_cidr (const char  *arg,
                 char       **domain_spec,
                 gint        *cidr4,
                 gint        *cidr6)
{
  const char *slash = strchr (arg, '/');
  const char *dslash = strstr (arg, "//");

  *cidr4 = -1;
  *cidr6 = -1;
  if (slash == NULL)
    {
      *domain_spec = *arg != '\0' ? g_strdup (arg) : NULL;
      return TRUE;
    }
  *domain_spec = slash > arg ? g_strndup (arg, slash - arg) : NULL;
  if (dslash != NULL && dslash == slash)
    return parse_cidr (dslash + 2, 128, cidr6);
  if (dslash != NULL)
    {
      g_autofree char *four = g_strndup (slash + 1, dslash - slash - 1);

      return parse_cidr (four, 32, cidr4) && parse_cidr (dslash + 2, 128, cidr6);
    }
  return parse_cidr (slash + 1, 32, cidr4);
}

static gboolean
domain_spec_ok (const char *spec)
{
  if (spec == NULL)
    return TRUE;
  if (*spec == '\0')
    return FALSE;
  for (const char *p = spec; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return FALSE;
  return TRUE;
}

/* One mechanism; NULL on a syntax error. */
static Term *
parse_mechanism (const char *word)
{
  static const struct { const char *name; TermKind kind; } names[] = {
    { "all", TERM_ALL }, { "include", TERM_INCLUDE }, { "a", TERM_A }, { "mx", TERM_MX },
    { "ptr", TERM_PTR }, { "ip4", TERM_IP4 }, { "ip6", TERM_IP6 }, { "exists", TERM_EXISTS },
  };
  Term *term = g_new0 (Term, 1);
  const char *p = word;
  const char *arg = NULL;
  gsize name_len;
  gboolean ok = FALSE, found = FALSE;

  term->text = g_strdup (word);
  term->qualifier = '+';
  if (strchr ("+-~?", *p) != NULL)
    term->qualifier = *p++;
  name_len = strcspn (p, ":/");
  if (p[name_len] == ':')
    arg = p + name_len + 1;
  else if (p[name_len] == '/')
    arg = p + name_len;
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (strlen (names[i].name) == name_len && g_ascii_strncasecmp (p, names[i].name, name_len) == 0)
      {
        term->kind = names[i].kind;
        found = TRUE;
      }
  if (!found)
    goto out;

  switch (term->kind)
    {
    case TERM_ALL:
      ok = arg == NULL;
      break;
    case TERM_INCLUDE:
    case TERM_EXISTS:
      ok = arg != NULL && p[name_len] == ':' && *arg != '\0' && domain_spec_ok (arg);
      if (ok)
        term->domain_spec = g_strdup (arg);
      break;
    case TERM_PTR:
      ok = arg == NULL || (p[name_len] == ':' && domain_spec_ok (arg) && *arg != '\0');
      break;
    case TERM_A:
    case TERM_MX:
      ok = arg == NULL || (parse_dual_cidr (arg, &term->domain_spec, &term->cidr4, &term->cidr6) &&
                           (p[name_len] == '/' || term->domain_spec != NULL) &&
                           domain_spec_ok (term->domain_spec));
      if (arg == NULL)
        term->cidr4 = term->cidr6 = -1;
      break;
    case TERM_IP4:
    case TERM_IP6:
      {
        const char *slash;
        g_autoptr(GInetAddress) address = NULL;
        gboolean v4 = term->kind == TERM_IP4;

        if (arg == NULL || p[name_len] != ':')
          break;
        slash = strchr (arg, '/');
        term->address = slash != NULL ? g_strndup (arg, slash - arg) : g_strdup (arg);
        address = g_inet_address_new_from_string (term->address);
        if (address == NULL ||
            g_inet_address_get_family (address) != (v4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6))
          break;
        term->cidr4 = term->cidr6 = -1;
        ok = slash == NULL || parse_cidr (slash + 1, v4 ? 32 : 128, v4 ? &term->cidr4 : &term->cidr6);
        break;
      }
    default:
      break;
    }
out:
  if (!ok)
    {
      term_free (term);
      return NULL;
    }
  return term;
}

/* The record -> terms and the redirect target.  FALSE: permerror. */
static gboolean
parse_record (Eval       *eval,
              const char *record,
              GPtrArray  *terms,
              char      **redirect)
{
  g_auto(GStrv) words = g_strsplit (record + strlen ("v=spf1"), " ", -1);

  for (gsize i = 0; words[i] != NULL; i++)
    {
      const char *word = words[i];
      gsize name_len = 0;
      Term *term;

      if (*word == '\0')
        continue;
      while (g_ascii_isalnum (word[name_len]) || word[name_len] == '-' ||
             word[name_len] == '_' || word[name_len] == '.')
        name_len++;
      if (name_len > 0 && g_ascii_isalpha (word[0]) && word[name_len] == '=')
        {
          /* a modifier */
          if (name_len == 8 && g_ascii_strncasecmp (word, "redirect", 8) == 0)
            {
              if (*redirect != NULL || !domain_spec_ok (word + 9) || word[9] == '\0')
                {
                  fail_with (eval, MG_SPF_PERMERROR, "bad or repeated redirect= \"%s\"", word);
                  return FALSE;
                }
              *redirect = g_strdup (word + 9);
            }
          continue;   /* exp= and unknown modifiers are ignored (6.2) */
        }
      term = parse_mechanism (word);
      if (term == NULL)
        {
          fail_with (eval, MG_SPF_PERMERROR, "syntax error at \"%s\"", word);
          return FALSE;
        }
      g_ptr_array_add (terms, term);
    }
  return TRUE;
}

/* ---- evaluation ---------------------------------------------------------- */

static MgSpfResult check_host (Eval *eval, const char *domain, guint depth);

static gboolean
count_dns_term (Eval *eval)
{
  return ++eval->n_dns_terms <= MAX_DNS_TERMS;
}

/* A lookup whose NXDOMAIN / empty answer counts as void. */
static MgSpfLookupStatus
lookup (Eval         *eval,
        const char   *name,
        MgSpfDnsType  type,
        GPtrArray    *answers,
        gboolean      counts_void)
{
  MgSpfLookupStatus status = eval->lookup (name, type, answers, eval->user_data);

  if (counts_void && status != MG_SPF_LOOKUP_ERROR && answers->len == 0)
    eval->n_void++;
  return status;
}

static gboolean
in_network (Eval       *eval,
            const char *network,
            gint        cidr)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (network);
  const guint8 *bytes;
  gsize len;
  gint bits;

  if (address == NULL)
    return FALSE;
  len = g_inet_address_get_native_size (address);
  if (len != eval->ip_len)
    return FALSE;
  bytes = g_inet_address_to_bytes (address);
  bits = cidr < 0 ? (gint) len * 8 : cidr;
  for (gint i = 0; i < bits; i++)
    {
      guint8 mask = 0x80 >> (i % 8);

      if ((bytes[i / 8] & mask) != (eval->ip[i / 8] & mask))
        return FALSE;
    }
  return TRUE;
}

/* a / mx: do any addresses of @name match?  Returns FALSE with *result
 * set on an error. */
static gboolean
match_host_addresses (Eval        *eval,
                      const char  *name,
                      Term        *term,
                      gboolean     counts_void,
                      gboolean    *matched,
                      MgSpfResult *result)
{
  g_autoptr(GPtrArray) answers = g_ptr_array_new_with_free_func (g_free);
  MgSpfDnsType type = eval->ip_len == 4 ? MG_SPF_DNS_A : MG_SPF_DNS_AAAA;
  gint cidr = eval->ip_len == 4 ? term->cidr4 : term->cidr6;

  if (lookup (eval, name, type, answers, counts_void) == MG_SPF_LOOKUP_ERROR)
    {
      *result = fail_with (eval, MG_SPF_TEMPERROR, "DNS lookup of %s failed", name);
      return FALSE;
    }
  for (guint i = 0; i < answers->len && !*matched; i++)
    *matched = in_network (eval, g_ptr_array_index (answers, i), cidr);
  return TRUE;
}

/* One mechanism: FALSE with *result set when the evaluation ends in an
 * error; else *matched. */
static gboolean
eval_term (Eval        *eval,
           Term        *term,
           const char  *domain,
           guint        depth,
           gboolean    *matched,
           MgSpfResult *result)
{
  g_autofree char *target = NULL;
  g_autoptr(GPtrArray) answers = NULL;
  MgSpfLookupStatus status;

  *matched = FALSE;
  if (term->kind != TERM_ALL && term->kind != TERM_IP4 && term->kind != TERM_IP6)
    {
      if (!count_dns_term (eval))
        {
          *result = fail_with (eval, MG_SPF_PERMERROR, "more than %d DNS-querying terms", MAX_DNS_TERMS);
          return FALSE;
        }
      target = expand (eval, term->domain_spec != NULL ? term->domain_spec : domain, domain);
      if (target == NULL)
        {
          *result = fail_with (eval, MG_SPF_PERMERROR, "bad macro in \"%s\"", term->text);
          return FALSE;
        }
    }

  switch (term->kind)
    {
    case TERM_ALL:
      *matched = TRUE;
      return TRUE;
    case TERM_IP4:
      *matched = eval->ip_len == 4 && in_network (eval, term->address, term->cidr4);
      return TRUE;
    case TERM_IP6:
      *matched = eval->ip_len == 16 && in_network (eval, term->address, term->cidr6);
      return TRUE;
    case TERM_PTR:
      return TRUE;   /* not supported (5.5: "do not use"): never matches */
    case TERM_INCLUDE:
      switch (check_host (eval, target, depth + 1))
        {
        case MG_SPF_PASS:
          *matched = TRUE;
          return TRUE;
        case MG_SPF_FAIL:
        case MG_SPF_SOFTFAIL:
        case MG_SPF_NEUTRAL:
          return TRUE;
        case MG_SPF_TEMPERROR:
          *result = MG_SPF_TEMPERROR;
          return FALSE;
        case MG_SPF_NONE:
          *result = fail_with (eval, MG_SPF_PERMERROR, "include:%s has no SPF record", target);
          return FALSE;
        case MG_SPF_PERMERROR:
        default:
          *result = MG_SPF_PERMERROR;
          return FALSE;
        }
    case TERM_A:
      if (!match_host_addresses (eval, target, term, TRUE, matched, result))
        return FALSE;
      break;
    case TERM_EXISTS:
      answers = g_ptr_array_new_with_free_func (g_free);
      if (lookup (eval, target, MG_SPF_DNS_A, answers, TRUE) == MG_SPF_LOOKUP_ERROR)
        {
          *result = fail_with (eval, MG_SPF_TEMPERROR, "DNS lookup of %s failed", target);
          return FALSE;
        }
      *matched = answers->len > 0;
      break;
    case TERM_MX:
      answers = g_ptr_array_new_with_free_func (g_free);
      status = lookup (eval, target, MG_SPF_DNS_MX, answers, TRUE);
      if (status == MG_SPF_LOOKUP_ERROR)
        {
          *result = fail_with (eval, MG_SPF_TEMPERROR, "DNS MX lookup of %s failed", target);
          return FALSE;
        }
      if (answers->len > MAX_MX_NAMES)
        {
          *result = fail_with (eval, MG_SPF_PERMERROR, "%s has more than %d MX names", target, MAX_MX_NAMES);
          return FALSE;
        }
      for (guint i = 0; i < answers->len && !*matched; i++)
        if (!match_host_addresses (eval, g_ptr_array_index (answers, i), term, FALSE, matched, result))
          return FALSE;
      break;
    default:
      g_assert_not_reached ();
    }
  if (eval->n_void > MAX_VOID_LOOKUPS)
    {
      *result = fail_with (eval, MG_SPF_PERMERROR, "more than %d void lookups", MAX_VOID_LOOKUPS);
      return FALSE;
    }
  return TRUE;
}

static MgSpfResult
qualifier_result (char qualifier)
{
  switch (qualifier)
    {
    case '-': return MG_SPF_FAIL;
    case '~': return MG_SPF_SOFTFAIL;
    case '?': return MG_SPF_NEUTRAL;
    default:  return MG_SPF_PASS;
    }
}

static gboolean
is_spf_record (const char *text)
{
  return g_ascii_strncasecmp (text, "v=spf1", 6) == 0 && (text[6] == '\0' || text[6] == ' ');
}

/* A syntactically valid domain for check_host (4.3): dotted, labels 1..63. */
static gboolean
domain_ok (const char *domain)
{
  g_auto(GStrv) labels = NULL;

  if (domain == NULL || *domain == '\0' || strlen (domain) > 253 || strchr (domain, '.') == NULL)
    return FALSE;
  labels = g_strsplit (domain, ".", -1);
  for (gsize i = 0; labels[i] != NULL; i++)
    {
      gsize len = strlen (labels[i]);

      if ((len == 0 && labels[i + 1] != NULL) || len > 63)
        return FALSE;
    }
  return TRUE;
}

static MgSpfResult
check_host (Eval       *eval,
            const char *domain,
            guint       depth)
{
  g_autoptr(GPtrArray) answers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) terms = g_ptr_array_new_with_free_func ((GDestroyNotify) term_free);
  g_autofree char *redirect = NULL;
  g_autofree char *target = NULL;
  const char *record = NULL;
  MgSpfLookupStatus status;
  MgSpfResult result;

  if (!domain_ok (domain))
    return MG_SPF_NONE;
  status = eval->lookup (domain, MG_SPF_DNS_TXT, answers, eval->user_data);
  if (status == MG_SPF_LOOKUP_ERROR)
    return fail_with (eval, MG_SPF_TEMPERROR, "DNS TXT lookup of %s failed", domain);
  for (guint i = 0; i < answers->len; i++)
    {
      const char *text = g_ptr_array_index (answers, i);

      if (!is_spf_record (text))
        continue;
      if (record != NULL)
        return fail_with (eval, MG_SPF_PERMERROR, "%s has more than one SPF record", domain);
      record = text;
    }
  if (record == NULL)
    return MG_SPF_NONE;
  if (!parse_record (eval, record, terms, &redirect))
    return MG_SPF_PERMERROR;

  for (guint i = 0; i < terms->len; i++)
    {
      Term *term = g_ptr_array_index (terms, i);
      gboolean matched = FALSE;

      if (!eval_term (eval, term, domain, depth, &matched, &result))
        return result;
      if (matched)
        {
          if (depth == 0)
            fail_with (eval, MG_SPF_PASS, "%s", term->text);   /* the deciding term */
          return qualifier_result (term->qualifier);
        }
    }
  if (redirect == NULL)
    {
      if (depth == 0)
        fail_with (eval, MG_SPF_NEUTRAL, "default");
      return MG_SPF_NEUTRAL;
    }

  if (!count_dns_term (eval))
    return fail_with (eval, MG_SPF_PERMERROR, "more than %d DNS-querying terms", MAX_DNS_TERMS);
  target = expand (eval, redirect, domain);
  if (target == NULL)
    return fail_with (eval, MG_SPF_PERMERROR, "bad macro in redirect=%s", redirect);
  result = check_host (eval, target, depth);
  if (result == MG_SPF_NONE)
    return fail_with (eval, MG_SPF_PERMERROR, "redirect=%s has no SPF record", target);
  return result;
}

MgSpfResult
mg_spf_check_host (GInetAddress     *client,
                   const char       *domain,
                   const char       *sender,
                   const char       *helo,
                   MgSpfLookupFunc   lookup_func,
                   gpointer          user_data,
                   char            **mechanism)
{
  Eval eval = { 0 };
  const char *at;
  MgSpfResult result;

  g_return_val_if_fail (G_IS_INET_ADDRESS (client), MG_SPF_NONE);
  g_return_val_if_fail (domain != NULL && sender != NULL && lookup_func != NULL, MG_SPF_NONE);

  eval.client = client;
  eval.ip_len = g_inet_address_get_native_size (client);
  memcpy (eval.ip, g_inet_address_to_bytes (client), eval.ip_len);
  if (eval.ip_len == 16 &&
      memcmp (eval.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    {
      /* IPv4-mapped: the IPv4 address (RFC 7208 5) */
      memmove (eval.ip, eval.ip + 12, 4);
      eval.ip_len = 4;
    }
  eval.sender = sender;
  at = strrchr (sender, '@');
  eval.local_part = at != NULL && at > sender ? g_strndup (sender, at - sender) : g_strdup ("postmaster");
  eval.sender_domain = g_strdup (at != NULL ? at + 1 : sender);
  eval.helo = helo;
  eval.lookup = lookup_func;
  eval.user_data = user_data;

  result = check_host (&eval, domain, 0);
  if (mechanism != NULL)
    *mechanism = g_strdup (eval.error != NULL ? eval.error
                                              : result == MG_SPF_NONE ? "no SPF record" : "default");
  g_free (eval.error);
  g_free (eval.local_part);
  g_free (eval.sender_domain);
  return result;
}
