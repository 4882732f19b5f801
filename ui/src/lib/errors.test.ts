import { beforeAll, describe, expect, it } from 'vitest';
import { setupI18n, setLocale } from './i18n';
import { errorText } from './errors';

describe('errors in the user\'s words', () => {
  beforeAll(() => setupI18n('zh-CN'));

  it('names the field that is wrong, in Chinese', () => {
    const e = { kind: 'invalid', message: 'lecturer is required', field: 'lecturer', reason: 'required', code: null, wait_secs: null };
    expect(errorText(e, 'activity')).toBe('「授课人」必填');
  });
  it('names the rule of the development pipeline a move breaks, for every rule the model has', async () => {
    const e = { kind: 'invalid', message: 'talked_on breaks a rule', field: 'talked_on', reason: 'rule', code: 'talk', wait_secs: null };
    expect(errorText(e, 'member')).toBe('申请入党后，党组织应在一个月内派人谈话；谈话后才能确定为入党积极分子');
    const { RULES } = await import('./rules');
    const rules = ['talk', 'activist_year', 'introducers', 'political_review', 'training', 'pre_review',
      'public_notice', 'branch_vote', 'approval', 'probation_year', 'full_approval'];
    expect(rules).toEqual(expect.arrayContaining(RULES.township_pipeline_rules));
    for (const code of rules) {
      expect(errorText({ ...e, code }, 'member')).not.toMatch(/breaks a rule|pipeline\.rule/);
    }
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
