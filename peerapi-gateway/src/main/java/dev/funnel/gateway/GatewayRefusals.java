package dev.funnel.gateway;

import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.OpenFailure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Counters for what the gateway refuses, each with its reason as a bounded label (enum names in
 * lower case, never a node name or an address):
 *
 * <ul>
 *   <li>{@code funnel_gateway_opens_refused_total{reason}}: {@code node_gone},
 *   {@code no_data_connection}, {@code offer_timeout}, {@code refused} (the node said no),
 *   {@code over_capacity} (the node's {@code maxTunnelsPerNode} is reached);</li>
 *   <li>{@code funnel_gateway_logins_total{result}}: {@code ok}, or the refusal: {@code bad_key}
 *   (wrong, expired, revoked or used auth key), {@code name_taken}, {@code bad_node_key},
 *   {@code bad_request}, {@code lease_unknown}, {@code protocol}, {@code unavailable}.</li>
 * </ul>
 */
final class GatewayRefusals {

  static final String PROTOCOL = "PROTOCOL";
  static final String UNAVAILABLE = "UNAVAILABLE";

  private final Map<OpenFailure, Counter> opens = new HashMap<>();
  private final Map<String, Counter> logins = new HashMap<>();

  GatewayRefusals(MeterRegistry registry) {
    for (OpenFailure failure : OpenFailure.values()) {
      opens.put(failure, Counter.builder("funnel.gateway.opens.refused")
          .description("Open requests the gateway refused, by reason (over_capacity: the node's tunnel cap)")
          .tag("reason", failure.name().toLowerCase(Locale.ROOT))
          .register(registry));
    }
    login(registry, "ok");
    for (LoginFailure failure : LoginFailure.values()) {
      login(registry, failure.name());
    }
    login(registry, PROTOCOL);
    login(registry, UNAVAILABLE);
  }

  private void login(MeterRegistry registry, String result) {
    logins.put(result, Counter.builder("funnel.gateway.logins")
        .description("Node logins on a control connection, by result (ok, or why it was refused)")
        .tag("result", result.toLowerCase(Locale.ROOT))
        .register(registry));
  }

  /** One refused open; a failure without a known code counts as {@code no_data_connection}, as its reply does. */
  void openRefused(OpenFailure failure) {
    opens.get(failure).increment();
  }

  void loggedIn() {
    logins.get("ok").increment();
  }

  /** {@code code}: a {@link LoginFailure} name, {@link #PROTOCOL} or {@link #UNAVAILABLE}. */
  void loginRefused(String code) {
    logins.getOrDefault(code, logins.get(UNAVAILABLE)).increment();
  }
}
