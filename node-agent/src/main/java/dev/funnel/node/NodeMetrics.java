package dev.funnel.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's meters. Labels are bounded: the answer status, the direction, the role; never a
 * client address or a name.
 *
 * <ul>
 *   <li>{@code funnel.node.offers{answer}}: offers answered, by status (101, 400, 403, 404, 405, 503);</li>
 *   <li>{@code funnel.tunnels.active{role=node}}: tunnels spliced right now;</li>
 *   <li>{@code funnel.tunnel.bytes{direction,role=node}}: bytes carried, {@code inbound} from the
 *       public client to the local target, {@code outbound} back.</li>
 * </ul>
 */
final class NodeMetrics {

  /** One active-tunnel count per registry, so several node agents in one JVM add up instead of hiding each other. */
  private static final Map<MeterRegistry, AtomicInteger> ACTIVE = Collections.synchronizedMap(new WeakHashMap<>());

  private final MeterRegistry registry;
  private final AtomicInteger active;
  private final Counter inbound;
  private final Counter outbound;

  NodeMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.active = ACTIVE.computeIfAbsent(registry, r -> {
      AtomicInteger count = new AtomicInteger();
      Gauge.builder("funnel.tunnels.active", count, AtomicInteger::get)
          .description("Tunnels spliced right now")
          .tag("role", "node")
          .strongReference(true)
          .register(r);
      return count;
    });
    this.inbound = bytes("inbound");
    this.outbound = bytes("outbound");
  }

  private Counter bytes(String direction) {
    return Counter.builder("funnel.tunnel.bytes")
        .description("Bytes carried by tunnels; inbound is public client to local target")
        .tag("direction", direction)
        .tag("role", "node")
        .register(registry);
  }

  /** Counts one answered offer. */
  void offer(int status) {
    Counter.builder("funnel.node.offers")
        .description("Ingress offers answered by this node, by answer status")
        .tag("answer", Integer.toString(status))
        .register(registry)
        .increment();
  }

  void tunnelOpened() {
    active.incrementAndGet();
  }

  void tunnelClosed(long inboundBytes, long outboundBytes) {
    active.decrementAndGet();
    inbound.increment(inboundBytes);
    outbound.increment(outboundBytes);
  }

  /** For tests: offers answered with {@code status} so far. */
  double offers(int status) {
    Counter counter = registry.find("funnel.node.offers").tag("answer", Integer.toString(status)).counter();
    return counter == null ? 0 : counter.count();
  }

  int activeTunnels() {
    return active.get();
  }
}
