// An error from a command, in the user's words.
import { isAppError, type AppError } from './api';
import { t } from './i18n';

function known(key: string, values?: Record<string, string | number>): string | null {
  const s = t(key, values);
  return s === key ? null : s;
}

/** The field's label for a record kind, or the field name. */
export function fieldLabel(kind: string | undefined, field: string): string {
  const top = field.split(/[.[]/)[0];
  return (kind && known(`field.${kind}.${top}`)) || top;
}

export function errorText(e: unknown, kind?: string): string {
  if (!isAppError(e)) return String(e);
  const err = e as AppError;
  // A rule of the development pipeline, named by the model: the rule in the user's words.
  if (err.kind === 'invalid' && err.reason === 'rule' && err.code) {
    const r = known(`pipeline.rule.${err.code}`);
    if (r) return r;
  }
  if (err.kind === 'invalid' && err.field && err.reason) {
    const r = known(`error.reason.${err.reason}`, { field: fieldLabel(kind, err.field) });
    if (r) return r;
  }
  if (err.kind === 'locked_out' && err.wait_secs != null) {
    return t('lock.wait', { n: err.wait_secs });
  }
  if (err.code) {
    const c = known(`error.code.${err.code}`);
    if (c) return c;
  }
  return known(`error.kind.${err.kind}`) ?? err.message;
}
