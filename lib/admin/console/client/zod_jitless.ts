/**
 * Imported first by the console's entry: tells the bundled zod never to
 * compile validators with `new Function`. The page's Content-Security-Policy
 * (`script-src 'self'`, no `'unsafe-eval'`) forbids that, and zod's probe for
 * it, though caught, is reported as a CSP violation (Firefox logs it as an
 * error on every load). Validation is the same without the JIT.
 *
 * @module
 */
import { config } from "zod";

config({ jitless: true });
