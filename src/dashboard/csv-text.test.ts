import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { charsetOf, decodeCsv } from './csv-text.js';

const csv = 'id,type,grid,name\nSL-1,streetlight,430302001001001,建设路 1 号灯杆\n';

describe('CSV text encodings', () => {
  it('reads UTF-8 with or without a BOM as UTF-8', () => {
    expect(decodeCsv(Buffer.from(csv), undefined)).toEqual({
      ok: true,
      text: csv,
      encoding: 'utf-8',
    });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]);
    expect(decodeCsv(bom, 'utf-8')).toEqual({ ok: true, text: csv, encoding: 'utf-8' });
  });

  it('reads GBK and GB18030, declared or detected', () => {
    for (const enc of ['gbk', 'gb18030']) {
      const bytes = iconv.encode(csv, enc);
      expect(decodeCsv(bytes, undefined)).toEqual({ ok: true, text: csv, encoding: 'gb18030' });
      expect(decodeCsv(bytes, enc)).toEqual({ ok: true, text: csv, encoding: 'gb18030' });
    }
    // GB18030 four-byte characters (outside GBK): 𠀀 and the euro sign.
    const rare = 'id,name\nX-1,𠀀 €\n';
    expect(decodeCsv(iconv.encode(rare, 'gb18030'), 'gb18030')).toMatchObject({ text: rare });
  });

  it('refuses what does not decode, naming the first bad line', () => {
    const gbk = iconv.encode(csv, 'gbk');
    expect(decodeCsv(gbk, 'utf-8')).toMatchObject({ ok: false, line: 2 });
    const broken = Buffer.concat([
      Buffer.from('id,name\nA-1,ok\nB-2,'),
      Buffer.from([0xff, 0xfe, 0x20]),
      Buffer.from('\n'),
    ]);
    expect(decodeCsv(broken, undefined)).toMatchObject({ ok: false, line: 3 });
    expect(decodeCsv(broken, 'gbk')).toMatchObject({ ok: false, line: 3 });
  });

  it('reads the charset parameter of a content type', () => {
    expect(charsetOf('text/csv; charset=GBK')).toBe('gbk');
    expect(charsetOf('text/csv;charset="gb18030"')).toBe('gb18030');
    expect(charsetOf('text/csv')).toBeUndefined();
  });
});
