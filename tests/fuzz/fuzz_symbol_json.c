/* fuzz_symbol_json.c: libFuzzer target for the -symbol.json reader (mx_symbol_from_json). A bad
 * text must fail with a message; a symbol read must write JSON that reads back. */
#include "fuzz_util.h"
#include "mx.h"

/* Returns 0 when the reader behaved (loaded or failed cleanly). */
static int fuzz_symbol_json_one(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  mx_symbol *s = NULL;
  int bad = 0;
  if (mx_symbol_from_json(text, &s) != MX_OK) {
    bad = s != NULL || mx_last_error()[0] == '\0';
  } else {
    char *json = NULL;
    mx_symbol *again = NULL;
    if (mx_symbol_to_json(s, &json) != MX_OK || mx_symbol_from_json(json, &again) != MX_OK) bad = 1;
    free(json);
    mx_symbol_release(again);
    mx_symbol_release(s);
  }
  free(text);
  return bad;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_symbol_json_one(data, size) != 0) abort();
  return 0;
}
#endif
