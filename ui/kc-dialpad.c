/* kc-dialpad.c: the twelve-key pad (kc-dialpad.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-dialpad.h"

#include <glib/gi18n.h>

typedef struct {
  KcDialpadFunc func;
  gpointer      user_data;
} Pad;

static const struct {
  char        digit;
  const char *letters;
} keys[] = {
  { '1', "" },     { '2', "ABC" }, { '3', "DEF" },
  { '4', "GHI" },  { '5', "JKL" }, { '6', "MNO" },
  { '7', "PQRS" }, { '8', "TUV" }, { '9', "WXYZ" },
  { '*', "" },     { '0', "+" },   { '#', "" },
};

static void
on_key_clicked (GtkButton *button,
                Pad       *pad)
{
  char digit = (char) GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "kc-digit"));

  pad->func (digit, pad->user_data);
}

GtkWidget *
kc_dialpad_new (const char    *name_prefix,
                KcDialpadFunc  func,
                gpointer       user_data)
{
  GtkWidget *grid = gtk_grid_new ();
  Pad *pad = g_new0 (Pad, 1);

  g_return_val_if_fail (func != NULL, NULL);

  pad->func = func;
  pad->user_data = user_data;
  g_object_set_data_full (G_OBJECT (grid), "kc-pad", pad, g_free);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 8);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);
  gtk_grid_set_row_homogeneous (GTK_GRID (grid), TRUE);
  gtk_grid_set_column_homogeneous (GTK_GRID (grid), TRUE);
  gtk_widget_set_halign (grid, GTK_ALIGN_CENTER);

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    GtkWidget *button = gtk_button_new ();
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *digit;
    GtkWidget *letters;
    char text[2] = { keys[i].digit, '\0' };
    g_autofree char *name = g_strdup_printf ("%s-%c", name_prefix, keys[i].digit);
    /* Screen readers say "star" and "pound", not the symbol. */
    g_autofree char *label = keys[i].digit == '*' ? g_strdup (_("Star"))
                           : keys[i].digit == '#' ? g_strdup (_("Pound"))
                           : g_strdup_printf (_("Digit %c"), keys[i].digit);

    digit = gtk_label_new (text);
    gtk_widget_add_css_class (digit, "title-2");
    letters = gtk_label_new (keys[i].letters);
    gtk_widget_add_css_class (letters, "caption");
    gtk_widget_add_css_class (letters, "dim-label");
    gtk_box_append (GTK_BOX (box), digit);
    gtk_box_append (GTK_BOX (box), letters);
    gtk_button_set_child (GTK_BUTTON (button), box);
    gtk_widget_add_css_class (button, "circular");
    gtk_widget_set_size_request (button, 64, 64);
    gtk_widget_set_name (button, name);
    gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    g_object_set_data (G_OBJECT (button), "kc-digit", GINT_TO_POINTER (keys[i].digit));
    g_signal_connect (button, "clicked", G_CALLBACK (on_key_clicked), pad);
    gtk_grid_attach (GTK_GRID (grid), button, (int) (i % 3), (int) (i / 3), 1, 1);
  }
  return grid;
}
