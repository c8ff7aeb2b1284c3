/* kc-keys.c */
