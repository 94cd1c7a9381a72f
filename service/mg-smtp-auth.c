/* mg-smtp-auth.c - SMTP AUTH exchanges: PLAIN, LOGIN, CRAM-MD5 (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One MgSmtpAuth per AUTH command (RFC 4954).  Every client response is
 * base64 checked strictly (alphabet, padding, length) before anything
 * looks at it: a bad one ends the exchange with 501, as does "*".  Only
 * well-formed credentials reach the account check, which answers 235 or
 * 535; an unknown user costs the same PBKDF2 work as a wrong password so
 * replies do not tell users apart.  Nothing here sleeps: the delay after a
 * failure is the receiver's.
 *
 * Threading: an exchange is touched by one thread at a time.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "mg-address.h"
#include "mg-smtp-auth.h"
#include "mg-smtp-reply.h"

#define MAX_RESPONSE 12288   /* decoded octets; RFC 4954 asks for 12288 line octets */

/* Verified against when the user does not exist (same cost, never matches). */
#define DUMMY_HASH "$pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$" \
                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

typedef enum
{
  STEP_START,
  STEP_PLAIN,          /* waiting for the PLAIN response */
  STEP_LOGIN_USER,     /* waiting for the user name */
  STEP_LOGIN_PASSWORD, /* waiting for the password */
  STEP_CRAM,           /* waiting for "user digest" */
  STEP_DONE,
} AuthStep;

struct _MgSmtpAuth
{
  MgConfig        *config;
  MgSmtpAuthMech   mech;
  char            *challenge;
  AuthStep         step;
  char            *user;        /* login name given; canonical address on success */
};

static const struct
{
  const char     *name;
  MgSmtpAuthMech  mech;
} mechs[] = {
  { "PLAIN",    MG_SMTP_AUTH_MECH_PLAIN },
  { "LOGIN",    MG_SMTP_AUTH_MECH_LOGIN },
  { "CRAM-MD5", MG_SMTP_AUTH_MECH_CRAM_MD5 },
};

MgSmtpAuthMech
mg_smtp_auth_mech_from_name (const char *name)
{
  g_return_val_if_fail (name != NULL, MG_SMTP_AUTH_MECH_NONE);

  for (gsize i = 0; i < G_N_ELEMENTS (mechs); i++)
    if (g_ascii_strcasecmp (name, mechs[i].name) == 0)
      return mechs[i].mech;
  return MG_SMTP_AUTH_MECH_NONE;
}

guint
mg_smtp_auth_parse_methods (const char *list)
{
  g_auto(GStrv) names = NULL;
  guint mask = 0;

  if (list == NULL)
    return 0;
  names = g_strsplit (list, ",", -1);
  for (gsize i = 0; names[i] != NULL; i++)
    mask |= mg_smtp_auth_mech_from_name (g_strstrip (names[i]));
  return mask;
}

char *
mg_smtp_auth_describe (guint mask)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (mechs); i++)
    if ((mask & mechs[i].mech) != 0)
      g_string_append_printf (out, " %s", mechs[i].name);
  return g_string_free (out, FALSE);
}

/* ---- helpers ------------------------------------------------------------ */

/* Strict RFC 4648 base64: alphabet, '=' only as final padding, length a
 * multiple of 4.  Returns NULL when malformed; "" decodes to "". */
static GBytes *
decode_base64 (const char *text,
               gsize       len)
{
  gsize pad = 0;
  guchar *data;
  gsize out_len = 0;

  if (len % 4 != 0 || len / 4 * 3 > MAX_RESPONSE)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (c == '=')
        {
          pad++;
          continue;
        }
      if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return NULL;
    }
  if (pad > 2)
    return NULL;
  if (len == 0)
    return g_bytes_new (NULL, 0);

  {
    g_autofree char *copy = g_strndup (text, len);

    data = g_base64_decode (copy, &out_len);
  }
  return g_bytes_new_take (data, out_len);
}

static void
append_challenge (GString    *replies,
                  const char *raw)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) raw, strlen (raw));

  g_string_append_printf (replies, "334 %s\r\n", encoded);
}

/* Login name -> account: the full address, or a bare user name when it is
 * unambiguous (one local domain, or an account of a shared-box domain). */
static const MgAccount *
find_account (MgConfig   *config,
              const char *login)
{
  g_autofree char *canonical = NULL;

  if (strchr (login, '@') != NULL)
    {
      canonical = mg_mailbox_canonical (login);
      return canonical != NULL ? mg_config_find_account (config, canonical) : NULL;
    }
  if (*login == '\0')
    return NULL;

  canonical = g_ascii_strdown (login, -1);
  if (config->domains->len == 1)
    {
      const MgDomain *domain = g_ptr_array_index (config->domains, 0);
      g_autofree char *address = g_strdup_printf ("%s@%s", canonical, domain->name);

      return mg_config_find_account (config, address);
    }
  return g_hash_table_lookup (config->shared_users, canonical);
}

static MgSmtpAuthStatus
finish (MgSmtpAuth      *self,
        const MgAccount *account,
        gboolean         ok,
        GString         *replies)
{
  self->step = STEP_DONE;
  if (!ok || account == NULL)
    {
      mg_smtp_reply_append (replies, MG_REPLY_AUTH_FAILED, NULL);
      return MG_SMTP_AUTH_FAILED;
    }
  g_free (self->user);
  self->user = g_strdup (account->address);
  mg_smtp_reply_append (replies, MG_REPLY_AUTH_OK, NULL);
  return MG_SMTP_AUTH_SUCCESS;
}

static MgSmtpAuthStatus
abort_with (MgSmtpAuth *self,
            MgReply     why,
            GString    *replies)
{
  self->step = STEP_DONE;
  mg_smtp_reply_append (replies, why, NULL);
  return MG_SMTP_AUTH_ABORTED;
}

/* PLAIN and LOGIN: the password against the PBKDF2 hash. */
static MgSmtpAuthStatus
check_password (MgSmtpAuth *self,
                const char *login,
                const char *password,
                GString    *replies)
{
  const MgAccount *account = find_account (self->config, login);
  gboolean known = account != NULL && account->password_hash != NULL;
  gboolean verified;

  g_free (self->user);
  self->user = g_strdup (login);
  verified = mg_config_password_verify (known ? account->password_hash : DUMMY_HASH,
                                        password);
  return finish (self, account, known && verified, replies);
}

/* ---- mechanisms --------------------------------------------------------- */

/* RFC 4616: [authzid] NUL authcid NUL passwd */
static MgSmtpAuthStatus
plain_response (MgSmtpAuth   *self,
                const guchar *data,
                gsize         len,
                GString      *replies)
{
  const guchar *nul1 = memchr (data, '\0', len);
  const guchar *nul2;
  g_autofree char *authzid = NULL;
  g_autofree char *authcid = NULL;
  g_autofree char *password = NULL;
  MgSmtpAuthStatus status;

  if (nul1 == NULL)
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);
  nul2 = memchr (nul1 + 1, '\0', len - (gsize) (nul1 + 1 - data));
  if (nul2 == NULL || memchr (nul2 + 1, '\0', len - (gsize) (nul2 + 1 - data)) != NULL)
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);

  authzid = g_strndup ((const char *) data, (gsize) (nul1 - data));
  authcid = g_strndup ((const char *) nul1 + 1, (gsize) (nul2 - nul1 - 1));
  password = g_strndup ((const char *) nul2 + 1, len - (gsize) (nul2 + 1 - data));
  if (*authcid == '\0' || *password == '\0')
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);

  /* no proxy logins: the authorisation identity, if given, is the user */
  if (*authzid != '\0' && find_account (self->config, authzid) != find_account (self->config, authcid))
    {
      g_free (self->user);
      self->user = g_strdup (authcid);
      return finish (self, NULL, FALSE, replies);
    }

  status = check_password (self, authcid, password, replies);
  OPENSSL_cleanse (password, strlen (password));
  return status;
}

static MgSmtpAuthStatus
login_response (MgSmtpAuth   *self,
                const guchar *data,
                gsize         len,
                GString      *replies)
{
  g_autofree char *text = NULL;
  MgSmtpAuthStatus status;

  if (len == 0 || memchr (data, '\0', len) != NULL)
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);
  text = g_strndup ((const char *) data, len);

  if (self->step == STEP_LOGIN_USER)
    {
      g_free (self->user);
      self->user = g_steal_pointer (&text);
      self->step = STEP_LOGIN_PASSWORD;
      append_challenge (replies, "Password:");
      return MG_SMTP_AUTH_CONTINUE;
    }

  {
    g_autofree char *login = g_strdup (self->user);

    status = check_password (self, login, text, replies);
  }
  OPENSSL_cleanse (text, strlen (text));
  return status;
}

/* RFC 2195: "user SP 32-hex-digest" */
static MgSmtpAuthStatus
cram_response (MgSmtpAuth   *self,
               const guchar *data,
               gsize         len,
               GString      *replies)
{
  g_autofree char *text = NULL;
  const MgAccount *account;
  char *space;
  gboolean ok;

  if (len == 0 || memchr (data, '\0', len) != NULL)
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);
  text = g_strndup ((const char *) data, len);
  space = strrchr (text, ' ');
  if (space == NULL || space == text || strlen (space + 1) != 32)
    return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);
  *space = '\0';
  for (const char *p = space + 1; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p))
      return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);

  g_free (self->user);
  self->user = g_strdup (text);
  account = find_account (self->config, text);
  ok = account != NULL && account->cram_md5 != NULL &&
       mg_config_cram_md5_verify (account->cram_md5, self->challenge, space + 1);
  return finish (self, account, ok, replies);
}

static MgSmtpAuthStatus
dispatch (MgSmtpAuth   *self,
          const guchar *data,
          gsize         len,
          GString      *replies)
{
  switch (self->step)
    {
    case STEP_PLAIN:
      return plain_response (self, data, len, replies);
    case STEP_LOGIN_USER:
    case STEP_LOGIN_PASSWORD:
      return login_response (self, data, len, replies);
    case STEP_CRAM:
      return cram_response (self, data, len, replies);
    case STEP_START:
    case STEP_DONE:
    default:
      break;
    }
  g_assert_not_reached ();
}

/* ---- public API --------------------------------------------------------- */

MgSmtpAuth *
mg_smtp_auth_new (MgConfig       *config,
                  MgSmtpAuthMech  mech,
                  const char     *challenge)
{
  MgSmtpAuth *self;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (mech == MG_SMTP_AUTH_MECH_PLAIN || mech == MG_SMTP_AUTH_MECH_LOGIN ||
                        mech == MG_SMTP_AUTH_MECH_CRAM_MD5, NULL);

  self = g_new0 (MgSmtpAuth, 1);
  self->config = mg_config_ref (config);
  self->mech = mech;
  self->challenge = g_strdup (challenge != NULL ? challenge : "<0.0@localhost>");
  self->step = STEP_START;
  return self;
}

void
mg_smtp_auth_free (MgSmtpAuth *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->config, mg_config_unref);
  g_free (self->challenge);
  g_free (self->user);
  g_free (self);
}

MgSmtpAuthStatus
mg_smtp_auth_start (MgSmtpAuth *self,
                    const char *initial,
                    GString    *replies)
{
  g_return_val_if_fail (self != NULL && replies != NULL, MG_SMTP_AUTH_ABORTED);
  g_return_val_if_fail (self->step == STEP_START, MG_SMTP_AUTH_ABORTED);

  switch (self->mech)
    {
    case MG_SMTP_AUTH_MECH_PLAIN:
      self->step = STEP_PLAIN;
      if (initial == NULL)
        {
          g_string_append (replies, "334 \r\n");
          return MG_SMTP_AUTH_CONTINUE;
        }
      break;
    case MG_SMTP_AUTH_MECH_LOGIN:
      self->step = STEP_LOGIN_USER;
      if (initial == NULL)
        {
          append_challenge (replies, "Username:");
          return MG_SMTP_AUTH_CONTINUE;
        }
      break;
    case MG_SMTP_AUTH_MECH_CRAM_MD5:
      /* RFC 2195 has no initial response */
      if (initial != NULL)
        return abort_with (self, MG_REPLY_AUTH_BAD_RESPONSE, replies);
      self->step = STEP_CRAM;
      append_challenge (replies, self->challenge);
      return MG_SMTP_AUTH_CONTINUE;
    case MG_SMTP_AUTH_MECH_NONE:
    default:
      g_assert_not_reached ();
    }

  /* RFC 4954 4: "=" is an empty initial response */
  if (g_str_equal (initial, "="))
    return mg_smtp_auth_step (self, "", 0, replies);
  if (*initial == '\0')
    return abort_with (self, MG_REPLY_AUTH_BAD_BASE64, replies);
  return mg_smtp_auth_step (self, initial, strlen (initial), replies);
}

MgSmtpAuthStatus
mg_smtp_auth_step (MgSmtpAuth *self,
                   const char *line,
                   gsize       len,
                   GString    *replies)
{
  g_autoptr(GBytes) decoded = NULL;
  MgSmtpAuthStatus status;
  gsize size = 0;
  const guchar *data;

  g_return_val_if_fail (self != NULL && replies != NULL, MG_SMTP_AUTH_ABORTED);
  g_return_val_if_fail (line != NULL || len == 0, MG_SMTP_AUTH_ABORTED);
  g_return_val_if_fail (self->step != STEP_START && self->step != STEP_DONE,
                        MG_SMTP_AUTH_ABORTED);

  if (len == 1 && line[0] == '*')
    return abort_with (self, MG_REPLY_AUTH_CANCELLED, replies);

  decoded = decode_base64 (line, len);
  if (decoded == NULL)
    return abort_with (self, MG_REPLY_AUTH_BAD_BASE64, replies);

  data = g_bytes_get_data (decoded, &size);
  status = dispatch (self, data != NULL ? data : (const guchar *) "", size, replies);
  if (size > 0)
    OPENSSL_cleanse ((gpointer) data, size);
  return status;
}

const char *
mg_smtp_auth_get_user (MgSmtpAuth *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->user;
}
