import { describe, expect, it } from 'vitest';
import { formatFamily } from '../../src/metrics/text-format.js';

describe('exposition format', () => {
  it('writes HELP, TYPE and samples, escaping label values and help text', () => {
    const text = formatFamily({ name: 'x_info', help: 'Line one\nback\\slash', type: 'gauge' }, [
      { labels: { tunnel_name: 'a "quoted" name', path: 'C:\\tmp\nx' }, value: 1 },
      { labels: {}, value: 0.5 },
      { labels: { a: 'b' }, value: Number.POSITIVE_INFINITY },
    ]);
    expect(text).toBe(
      [
        '# HELP x_info Line one\\nback\\\\slash',
        '# TYPE x_info gauge',
        'x_info{tunnel_name="a \\"quoted\\" name",path="C:\\\\tmp\\nx"} 1',
        'x_info 0.5',
        'x_info{a="b"} +Inf',
      ].join('\n'),
    );
  });

  it('writes HELP and TYPE for a family without samples', () => {
    expect(formatFamily({ name: 'y_total', help: 'Y.', type: 'counter' }, [])).toBe('# HELP y_total Y.\n# TYPE y_total counter');
  });
});
