import iconv from 'iconv-lite';

/**
 * The text of an uploaded CSV file (issue #11, decision 0132). Spreadsheets
 * in Chinese offices save "CSV" as GBK (Excel's 中文 code page 936) unless
 * told UTF-8, so both are read:
 *
 * 1. a declared `charset=` wins: `utf-8` must be valid UTF-8; `gbk`,
 *    `gb2312`, `gb18030` (and their aliases) are decoded as GB18030, the
 *    superset of the other two;
 * 2. undeclared: valid UTF-8 (with or without a BOM) is UTF-8; otherwise
 *    GB18030 when the whole file decodes without a single invalid sequence;
 * 3. anything else is refused with the first line that does not decode.
 *
 * Line feeds are the same byte in both encodings (GB18030 never uses 0x0A
 * inside a character), so line numbers count the same in bytes and in text.
 */
export type CsvEncoding = 'utf-8' | 'gb18030';

export type CsvText =
  | { readonly ok: true; readonly text: string; readonly encoding: CsvEncoding }
  | { readonly ok: false; readonly line: number; readonly message: string };

const gbCharsets = new Set(['gbk', 'gb2312', 'gb18030', 'cp936', 'x-gbk', 'windows-936']);
const utf8Charsets = new Set(['utf-8', 'utf8']);

/** The `charset` parameter of a content type, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m?.[1]?.toLowerCase();
}

/** Whether `charset` is one this reader takes (undefined: none declared). */
export function isSupportedCharset(charset: string | undefined): boolean {
  return charset === undefined || gbCharsets.has(charset) || utf8Charsets.has(charset);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodesAsUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** GB18030 text, or null when any sequence is invalid (iconv-lite puts U+FFFD there). */
function gb18030(bytes: Buffer): string | null {
  const text = iconv.decode(bytes, 'gb18030', { stripBOM: true });
  return text.includes('\uFFFD') ? null : text;
}

/** The 1-based line of the first line that does not decode. */
function firstBadLine(bytes: Buffer, decodes: (line: Buffer) => boolean): number {
  let start = 0;
  for (let line = 1; ; line++) {
    const end = bytes.indexOf(0x0a, start);
    if (!decodes(bytes.subarray(start, end === -1 ? bytes.length : end))) return line;
    if (end === -1) return line;
    start = end + 1;
  }
}

export function decodeCsv(bytes: Buffer, charset: string | undefined): CsvText {
  const declaredGb = charset !== undefined && gbCharsets.has(charset);
  if (!declaredGb && decodesAsUtf8(bytes)) {
    // TextDecoder drops a leading BOM (ignoreBOM defaults to false).
    return { ok: true, text: utf8.decode(bytes), encoding: 'utf-8' };
  }
  if (charset !== undefined && utf8Charsets.has(charset)) {
    return {
      ok: false,
      line: firstBadLine(bytes, decodesAsUtf8),
      message: 'not valid UTF-8 although declared charset=utf-8',
    };
  }
  const text = gb18030(bytes);
  if (text !== null) return { ok: true, text, encoding: 'gb18030' };
  return {
    ok: false,
    line: firstBadLine(bytes, (line) => gb18030(line) !== null),
    message: declaredGb
      ? `not valid ${charset} (decoded as GB18030)`
      : 'neither UTF-8 nor GB18030/GBK; save the file as UTF-8',
  };
}
