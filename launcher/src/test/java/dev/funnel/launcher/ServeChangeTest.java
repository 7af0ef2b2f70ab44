package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.serve.GatePolicy;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class ServeChangeTest {

  @Test
  void aTargetWithoutAPathIsARouteOnTheRoot() {
    ServeChange c = ServeChange.parse(new JsonObject().put("target", "text:hello"));
    assertThat(c.route().path()).isEqualTo("/");
    assertThat(c.route().target().toString()).isEqualTo("text:hello");
    assertThat(c.path()).isNull();
    assertThat(c.policy()).isEqualTo(GatePolicy.NONE);
  }

  @Test
  void aTargetWithAPathAndRulesIsThatRouteWithItsRules() {
    ServeChange c = ServeChange.parse(new JsonObject().put("target", "http://127.0.0.1:3000").put("path", "/api/")
        .put("policy", new JsonObject().put("rate-limit", "5/s")));
    assertThat(c.route().path()).isEqualTo("/api");
    assertThat(c.route().policy().isEmpty()).isFalse();
    assertThat(c.route().policy()).isEqualTo(c.policy());
  }

  @Test
  void rulesWithoutATargetChangeTheGateOfThePortOrOfOneRoute() {
    ServeChange port = ServeChange.parse(new JsonObject().put("policy", new JsonObject().put("allow-cidr", "10.0.0.0/8")));
    assertThat(port.route()).isNull();
    assertThat(port.path()).isNull();
    assertThat(port.policy().isEmpty()).isFalse();
    ServeChange route = ServeChange.parse(new JsonObject().put("policy", new JsonObject()).put("path", "/hooks"));
    assertThat(route.route()).isNull();
    assertThat(route.path()).isEqualTo("/hooks");
    assertThat(route.policy().isEmpty()).isTrue();
  }

  @Test
  void aBodyOfAnotherShapeIsRefusedSayingWhichShapesAreTaken() {
    for (JsonObject body : new JsonObject[] {null, new JsonObject(), new JsonObject().put("path", "/x"),
        new JsonObject().put("target", 443), new JsonObject().put("target", "text:x").put("extra", 1)}) {
      assertThatThrownBy(() -> ServeChange.parse(body)).as(String.valueOf(body))
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("the body must be");
    }
    assertThatThrownBy(() -> ServeChange.parse(new JsonObject().put("target", "ftp://127.0.0.1:1")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("the body must be");
  }
}
