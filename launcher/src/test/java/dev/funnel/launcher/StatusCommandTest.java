package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@link StatusCommand#print}: what a node owner reads of the node's status JSON. */
class StatusCommandTest {

  private static JsonObject port(Object routed, String refused) {
    return new JsonObject().put("port", 443).put("url", "https://web.demo.test/").put("routed", routed)
        .put("refused", refused).put("routes", new JsonArray().add(new JsonObject().put("path", "/")
            .put("target", "text:hi").put("gate", "none")));
  }

  private static String print(JsonObject port) {
    StringWriter text = new StringWriter();
    StatusCommand.print(new JsonObject().put("fqdn", "web.demo.test").put("ok", false)
        .put("public", new JsonArray().add(port)), new PrintWriter(text, true));
    return text.toString();
  }

  @Test
  void saysWhetherThePortIsRoutedAndUnknownWithoutASession() {
    assertThat(print(port(true, null))).contains("  routed:  yes\n");
    assertThat(print(port(false, "refused by the tailnet's policy: Funnel is off for tailnet demo")))
        .contains("  routed:  NO, refused by the tailnet's policy: Funnel is off for tailnet demo\n");
    assertThat(print(port(null, null))).contains("  routed:  unknown (no session with the server)\n")
        .doesNotContain("routed:  yes");
  }

  @Test
  void aRouteWhoseTargetDoesNotAnswerIsNamed() {
    JsonObject port = port(true, null).put("routes", new JsonArray()
        .add(new JsonObject().put("path", "/").put("target", "http://127.0.0.1:3000").put("gate", "none")
            .put("localTarget", "answers"))
        .add(new JsonObject().put("path", "/dead").put("target", "http://127.0.0.1:9").put("gate", "none")
            .put("localTarget", "cannot connect to 127.0.0.1:9 (Connection refused)")));
    assertThat(print(port)).contains("  / → http://127.0.0.1:3000  (gate: none)\n",
        "  /dead → http://127.0.0.1:9  (gate: none)  NOT ANSWERING: cannot connect to 127.0.0.1:9 (Connection refused)\n");
  }
}
