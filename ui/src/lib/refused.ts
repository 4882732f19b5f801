// Why the server refused a record, in the user's words: the message key for a reject code
// (the codes are `zhucun_protocol::RejectCode`).
const keys: Record<string, string> = {
  forbidden: 'sync.refused_forbidden',
  invalid: 'sync.refused_invalid',
  out_of_scope: 'sync.refused_out_of_scope',
  schema_too_new: 'sync.refused_schema_too_new',
};

/** The message key and values that say why the server refused a record. */
export function refusalReason(code: string): { key: string; values?: Record<string, string> } {
  return keys[code] ? { key: keys[code] } : { key: 'sync.refused_other', values: { code } };
}
