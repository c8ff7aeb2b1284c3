/* kc-demo-call.h: the demo's real call between two headless softphones
 * through two controllers, and its FIG. 3 flow printed from their events. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *net;                 /* the provisioned network folder */
  const char *controller;          /* path of keycall-controller */
  const char *keycall;             /* path of keycall */
  gboolean    derived;             /* key mode */
  const char *flow;                /* path of keycall-flow: the controller window
                                    * opens on both controllers' events and the
                                    * demo waits for it to close; NULL: none */
  gboolean    step;                /* with @flow: gc1 starts in step mode and the
                                    * window's Next releases each message */
  const char *lea;                 /* path of keycall-lea: lea1 taps Alice's calls
                                    * and records them; NULL: no tap */
  char       *caller_fingerprint;  /* out: what Alice printed */
  char       *callee_fingerprint;  /* out: what Bob printed */
  char       *lea_fingerprint;     /* out: the key lea1 opened */
  char       *lea_recorded;        /* out: lea1's "recorded …" line */
} KcDemoCall;

/* Provisioned gc1/gc2, alice.kcprofile and bob.kcprofile in @demo->net. */
gboolean kc_demo_call_run (KcDemoCall  *demo,
                           GError     **error);

G_END_DECLS
