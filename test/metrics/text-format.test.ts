import { describe, expect, it } from 'vitest';
import type { Family } from '../../src/domain/family.js';
import { formatFamily } from '../../src/metrics/text-format.js';

describe('exposition format', () => {
  it('writes HELP, TYPE and samples in the order of the family labels, escaping label values and help text', () => {
    const family: Family<{ name: string; path: string; value: number }> = {
      name: 'x_info',
      help: 'Line one\nback\\slash',
      type: 'gauge',
      labels: ['tunnel_name', 'path'],
      samples: (item, emit) => emit([item.name, item.path], item.value),
    };
    const text = formatFamily(family, [
      { name: 'a "quoted" name', path: 'C:\\tmp\nx', value: 1 },
      { name: 'b', path: '/', value: Number.POSITIVE_INFINITY },
    ]);
    expect(text).toBe(
      [
        '# HELP x_info Line one\\nback\\\\slash',
        '# TYPE x_info gauge',
        'x_info{tunnel_name="a \\"quoted\\" name",path="C:\\\\tmp\\nx"} 1',
        'x_info{tunnel_name="b",path="/"} +Inf',
      ].join('\n'),
    );
  });

  it('writes a family without labels, and HELP and TYPE alone for one without samples', () => {
    const plain: Family<number> = { name: 'z', help: 'Z.', type: 'gauge', labels: [], samples: (v, emit) => emit([], v) };
    expect(formatFamily(plain, [0.5, Number.NaN])).toBe('# HELP z Z.\n# TYPE z gauge\nz 0.5\nz NaN');
    const none: Family<number> = { name: 'y_total', help: 'Y.', type: 'counter', labels: [], samples: () => undefined };
    expect(formatFamily(none, [1])).toBe('# HELP y_total Y.\n# TYPE y_total counter');
  });

  it('refuses a sample whose label values do not match its family labels, naming the family', () => {
    const short: Family<number> = { name: 'w_info', help: 'W.', type: 'gauge', labels: ['a', 'b'], samples: (v, emit) => emit(['x'], v) };
    expect(() => formatFamily(short, [1])).toThrow(/w_info: a sample gave 1 label values for 2 labels/);
    const long: Family<number> = { name: 'v_info', help: 'V.', type: 'gauge', labels: ['a'], samples: (v, emit) => emit(['x'], v, 'y') };
    expect(() => formatFamily(long, [1])).toThrow(/v_info: a sample gave 2 label values for 1 labels/);
  });
});
