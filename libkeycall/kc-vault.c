/* kc-vault.c: being written. */
