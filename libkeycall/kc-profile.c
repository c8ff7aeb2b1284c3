/* kc-profile.c: being written. */
