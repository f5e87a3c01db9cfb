// Preloaded with --import: appends the URL of every module the process loads (ESM, CommonJS and
// built-ins) to the file named by DECNET_MODULE_LOG.
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.DECNET_MODULE_LOG;
if (out) {
  registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(out, url + '\n');
      return nextLoad(url, context);
    },
  });
}
