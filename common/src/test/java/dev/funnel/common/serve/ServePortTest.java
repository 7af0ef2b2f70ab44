package dev.funnel.common.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.options.ServeTarget;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServePortTest {

  private static ServeRoute route(String path) {
    return new ServeRoute(path, ServeTarget.parse("text:" + path), GatePolicy.NONE);
  }

  @Test
  void routesAreLongestFirstAndReadBackwardsAsASiteMap() {
    ServePort port = new ServePort(443, GatePolicy.NONE,
        List.of(route("/t"), route("/"), route("/api/v1"), route("/r"), route("/f"), route("/api")));
    assertThat(port.routes()).extracting(ServeRoute::path)
        .containsExactly("/api/v1", "/api", "/t", "/r", "/f", "/");
  }
}
