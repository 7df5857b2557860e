import { holdIdOf } from './hold-id';

describe('holdIdOf', () => {
  it('gives every attempt of one network id the same hold id, a version-5-layout UUID', () => {
    const id = holdIdOf('NTX-1');
    expect(id).toBe(holdIdOf('NTX-1'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('gives different network ids different hold ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => holdIdOf(`NTX-${i}`)));
    expect(ids.size).toBe(1000);
    expect(holdIdOf('NTX-1')).not.toBe(holdIdOf('NTX-1 '));
  });
});
