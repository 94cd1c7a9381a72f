/* test-metrics.c - the Prometheus text rendering (issue 7 item 9)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include "mg-metrics.h"

static void
test_render (void)
{
  g_auto(GVariantBuilder) rejections = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{st}"));
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) status = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_variant_builder_add (&rejections, "{st}", "550 5.1.1", (guint64) 3);
  g_variant_builder_add (&rejections, "{st}", "421", (guint64) 1);
  g_variant_builder_add (&builder, "{sv}", "receiver", g_variant_new_string ("running"));
  g_variant_builder_add (&builder, "{sv}", "delivery", g_variant_new_string ("stopped"));
  g_variant_builder_add (&builder, "{sv}", "received", g_variant_new_uint64 (42));
  g_variant_builder_add (&builder, "{sv}", "queue", g_variant_new_uint32 (7));
  g_variant_builder_add (&builder, "{sv}", "commit-latency-avg-ms", g_variant_new_double (0.5));
  g_variant_builder_add (&builder, "{sv}", "rejections", g_variant_builder_end (&rejections));
  g_variant_builder_add (&builder, "{sv}", "version", g_variant_new_string ("0.1.0"));
  status = g_variant_ref_sink (g_variant_builder_end (&builder));

  text = mg_metrics_render (status);
  g_assert_true (g_str_has_suffix (text, "\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_service_up{service=\"receiver\"} 1\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_service_up{service=\"delivery\"} 0\n"));
  g_assert_nonnull (strstr (text, "# TYPE mailgate_messages_received_total counter\n"
                                  "mailgate_messages_received_total 42\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_queue_messages 7\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_commit_latency_avg_milliseconds 0.5\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_rejections_total{code=\"550\",status=\"5.1.1\"} 3\n"));
  g_assert_nonnull (strstr (text, "\nmailgate_rejections_total{code=\"421\",status=\"\"} 1\n"));
  /* absent keys are absent, strings are not metrics */
  g_assert_null (strstr (text, "mailgate_recipients_delivered_total"));
  g_assert_null (strstr (text, "0.1.0"));

  /* every line is a comment or "name[{labels}] value" */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *space = strrchr (lines[i], ' ');

      if (lines[i][0] == '#')
        continue;
      g_assert_true (g_str_has_prefix (lines[i], "mailgate_"));
      g_assert_nonnull (space);
      g_assert_true (g_ascii_isdigit (space[1]));
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/render", test_render);
  return g_test_run ();
}
