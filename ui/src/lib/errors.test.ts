import { beforeAll, describe, expect, it } from 'vitest';
import { setupI18n, setLocale } from './i18n';
import { errorText } from './errors';

describe('errors in the user\'s words', () => {
  beforeAll(() => setupI18n('zh-CN'));

  it('names the field that is wrong, in Chinese', () => {
    const e = { kind: 'invalid', message: 'lecturer is required', field: 'lecturer', reason: 'required', code: null, wait_secs: null };
    expect(errorText(e, 'activity')).toBe('「授课人」必填');
  });
  it('explains a wrong enrolment code and a server that cannot be reached', () => {
    expect(errorText({ kind: 'refused', message: 'x', field: null, reason: null, code: 'code_invalid', wait_secs: null })).toMatch(/登记码不对/);
    expect(errorText({ kind: 'offline', message: 'x', field: null, reason: null, code: null, wait_secs: null })).toMatch(/连不上服务器/);
  });
  it('says how long to wait after too many wrong PINs, and switches language', () => {
    const e = { kind: 'locked_out', message: 'x', field: null, reason: null, code: null, wait_secs: 60 };
    expect(errorText(e)).toBe('错误次数过多，请 60 秒后再试');
    setLocale('en');
    expect(errorText(e)).toBe('Too many wrong PINs: try again in 60 seconds');
    setLocale('zh-CN');
  });
  it('falls back to the message for something it does not know', () => {
    expect(errorText(new Error('boom'))).toBe('Error: boom');
  });
});
