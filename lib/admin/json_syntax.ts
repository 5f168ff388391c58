/**
 * Where a JSON text stops being JSON. `JSON.parse` says so in its message under V8 (Deno) but not
 * under JavaScriptCore (Bun: "JSON Parse error: Expected '}'"), and the admin role runs on both;
 * an operator fixing a blob written with zkCli.sh needs the position either way. A small scanner
 * of RFC 8259's grammar finds the first offending character; the runtime's message is kept as
 * the detail.
 *
 * @module
 */

/** A JSON syntax error's place: 0-based character offset, 1-based line and column. */
export interface JsonSyntaxError {
  readonly position: number;
  readonly line: number;
  readonly column: number;
  /** What was found there ("unexpected end of input", "unexpected character '}'"). */
  readonly found: string;
}

class Stop extends Error {
  constructor(readonly at: number) {
    super("stop");
  }
}

/**
 * The first syntax error of `text`, or null when it is valid JSON.
 *
 * @example
 * ```ts
 * import { jsonSyntaxError } from "./json_syntax.ts";
 * jsonSyntaxError('{"a": 1,}')?.position; // 8
 * ```
 */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const expect = (literal: string) => {
    for (const ch of literal) {
      if (text[i] !== ch) throw new Stop(i);
      i++;
    }
  };
  const digits = () => {
    const start = i;
    while (i < text.length && text[i]! >= "0" && text[i]! <= "9") i++;
    if (i === start) throw new Stop(i);
  };
  const string = () => {
    expect('"');
    for (;;) {
      if (i >= text.length) throw new Stop(i);
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < " ") throw new Stop(i);
      if (ch === "\\") {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) throw new Stop(i + k);
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else throw new Stop(i);
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expect(":");
        value();
        ws();
        if (text[i] === ",") i++;
        else {
          expect("}");
          return;
        }
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else {
          expect("]");
          return;
        }
      }
    }
    if (ch === '"') return string();
    if (ch === "t") return expect("true");
    if (ch === "f") return expect("false");
    if (ch === "n") return expect("null");
    if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) {
      if (ch === "-") i++;
      if (text[i] === "0") i++;
      else digits();
      if (text[i] === ".") {
        i++;
        digits();
      }
      if (text[i] === "e" || text[i] === "E") {
        i++;
        if (text[i] === "+" || text[i] === "-") i++;
        digits();
      }
      return;
    }
    throw new Stop(i);
  };
  try {
    value();
    ws();
    if (i < text.length) throw new Stop(i);
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.at);
    const line = before.split("\n").length;
    const column = e.at - (before.lastIndexOf("\n") + 1) + 1;
    const ch = text[e.at];
    return {
      position: e.at,
      line,
      column,
      found: ch === undefined
        ? "unexpected end of input"
        : `unexpected character ${JSON.stringify(ch)}`,
    };
  }
}
