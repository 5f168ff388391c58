/**
 * The store contract against a real single ZooKeeper node (started through deploy/zookeeper/zk.sh
 * and stopped afterwards if this run started it).
 */

import { storeContract } from "../../lib/store/contract.ts";
import { zookeeperHarness } from "../support/zk_harness.ts";
import { acquireZk } from "../support/zk_server.ts";

Deno.test("zookeeper store passes the store contract on a real node", async (t) => {
  const lease = await acquireZk("single");
  try {
    const harness = zookeeperHarness(lease.connectionString);
    for (const c of storeContract) {
      await t.step(c.name, () => c.fn(harness));
    }
  } finally {
    await lease.release();
  }
});
