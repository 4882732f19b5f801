import { describe, expect, it } from 'vitest';
import { buildTree, flatten, parentChoices, townshipOf } from './tree';
import type { OrgUnit } from './types';

const u = (id: string, name: string, kind: string, parent: string | null): OrgUnit => ({ id, name, kind, parent, path: '' });
const units = [
  u('dongfeng', '东风村', 'village', 'chengguan'),
  u('city', '某市', 'city', null),
  u('school1', '城关中学', 'school', 'chengguan'),
  u('chengguan', '城关镇', 'township', 'city'),
  u('xiangyang', '向阳街道', 'street', 'city'),
  u('beiling', '北岭村', 'village', 'chengguan'),
  u('hongqi', '红旗社区', 'community', 'xiangyang'),
];

describe('the organisation tree', () => {
  it('nests units under their parents, by kind then name', () => {
    const roots = buildTree(units);
    expect(roots.map((r) => r.unit.id)).toEqual(['city']);
    expect(roots[0].children.map((c) => c.unit.id)).toEqual(['chengguan', 'xiangyang']);
    expect(roots[0].children[0].children.map((c) => c.unit.id)).toEqual(['beiling', 'dongfeng', 'school1']);
  });
  it('makes a unit whose parent is out of view a root', () => {
    const roots = buildTree(units.filter((x) => x.id !== 'city'));
    expect(roots.map((r) => r.unit.id)).toEqual(['chengguan', 'xiangyang']);
  });
  it('does not lose units in a cycle', () => {
    const roots = buildTree([u('a', 'A', 'township', 'b'), u('b', 'B', 'township', 'a'), u('c', 'C', 'village', 'c')]);
    expect(flatten(roots).map((f) => f.unit.id).sort()).toEqual(['a', 'b', 'c']);
  });
  it('flattens in reading order with depths', () => {
    expect(flatten(buildTree(units)).map((f) => `${f.depth}:${f.unit.id}`)).toEqual([
      '0:city',
      '1:chengguan',
      '2:beiling',
      '2:dongfeng',
      '2:school1',
      '1:xiangyang',
      '2:hongqi',
    ]);
  });
  it('finds each unit\'s township or street', () => {
    const t = townshipOf(units);
    expect(t.get('dongfeng')).toEqual({ id: 'chengguan', name: '城关镇' });
    expect(t.get('hongqi')).toEqual({ id: 'xiangyang', name: '向阳街道' });
    expect(t.get('chengguan')).toEqual({ id: 'chengguan', name: '城关镇' });
    expect(t.has('city')).toBe(false);
  });
  it('offers parents that can hold the kind', () => {
    expect(parentChoices(units, 'village').map((p) => p.id)).toEqual(['chengguan', 'xiangyang']);
    expect(parentChoices(units, 'township').map((p) => p.id)).toEqual(['city']);
    expect(parentChoices(units, 'city')).toEqual([]);
  });
});
