package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.funnel.common.Hostnames;
import dev.funnel.common.PublicPorts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Fuzzes the admin API's strict JSON body checks with the same calls, in the same order, as its
 * three body-taking handlers ({@code POST /v1/tailnets}, {@code PATCH /v1/tailnets/:name},
 * {@code POST /v1/keys}), without a server (the body arrives already capped at 64 KiB by
 * {@code BodyHandler}). Seeds ({@code AdminBodyFuzzTestInputs/}): the bodies {@code funnel admin}
 * sends.
 *
 * <p>Properties: every body is either accepted with values the store can take (DNS-label names,
 * Funnel ports only, an expiry in range) or refused with {@link AdminException} {@code BAD_REQUEST}
 * and a reason; nothing else escapes (no {@code ClassCastException}, no {@code StackOverflowError}
 * from deep nesting, no {@code NumberFormatException}), since anything else would be a 500.
 */
class AdminBodyFuzzTest {

  @FuzzTest
  void bodies(byte[] input) {
    Buffer body = Buffer.buffer(input);
    refusedOnlyAsBadRequest(() -> createTailnet(body));
    refusedOnlyAsBadRequest(() -> updateTailnet(body));
    refusedOnlyAsBadRequest(() -> createKey(body));
    refusedOnlyAsBadRequest(() -> {
      AdminAliasRoutes.AddRequest add = AdminAliasRoutes.addRequest(body, "funnel.example");
      assertThat(Hostnames.alias(add.alias(), "funnel.example")).contains(add.alias());
    });
  }

  private static void createTailnet(Buffer body) {
    JsonObject json = AdminBodies.object(body, Set.of("name", "funnel", "ports"));
    String name = AdminBodies.label(AdminBodies.string(json, "name", true), "tailnet name");
    assertThat(Hostnames.isLabel(name)).isTrue();
    AdminBodies.bool(json, "funnel");
    portsAreFunnelPorts(AdminBodies.ports(json, "ports"));
  }

  private static void updateTailnet(Buffer body) {
    JsonObject json = AdminBodies.object(body, Set.of("funnel", "ports"));
    AdminBodies.bool(json, "funnel");
    portsAreFunnelPorts(AdminBodies.ports(json, "ports"));
  }

  private static void createKey(Buffer body) {
    JsonObject json = AdminBodies.object(body, Set.of("tailnet", "reusable", "expirySeconds"));
    AdminBodies.label(AdminBodies.string(json, "tailnet", true), "tailnet name");
    AdminBodies.bool(json, "reusable");
    Long expiry = AdminBodies.integer(json, "expirySeconds");
    if (expiry != null && (expiry <= 0 || expiry > RegistryService.MAX_KEY_EXPIRY_SECONDS)) {
      throw AdminException.badRequest("expirySeconds out of range");   // as the handler does
    }
  }

  private static void portsAreFunnelPorts(Set<Integer> ports) {
    if (ports != null) {
      assertThat(ports).allMatch(PublicPorts::isAllowed);
    }
  }

  private static void refusedOnlyAsBadRequest(Runnable check) {
    try {
      check.run();
    } catch (AdminException refused) {
      assertThat(refused.code()).isEqualTo(AdminException.Code.BAD_REQUEST);
      assertThat(refused.getMessage()).isNotBlank();
    }
  }
}
