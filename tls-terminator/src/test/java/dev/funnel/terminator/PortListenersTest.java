package dev.funnel.terminator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PortListenersTest {

  @Test
  void aPortsSocketIsNamedByItsPublicPortAndItsSharedListenPort() {
    Path socket = PortListeners.socketPath(Path.of("/var/lib/funnel"), 443, -7);
    assertThat(socket).isEqualTo(Path.of("/var/lib/funnel/terminator-443-7.sock"));
  }

  @Test
  void aRelativeDirectoryGivesAnAbsoluteSocket() {
    Path socket = PortListeners.socketPath(Path.of("state"), 8443, -1);
    assertThat(socket).isAbsolute().hasFileName("terminator-8443-1.sock");
  }

  @Test
  void noDirectoryMeansTcp() {
    assertThat(PortListeners.socketPath(null, 443, -1)).isNull();
  }

  @Test
  void aPathTooLongForASocketAddressMeansTcpAndTheLongestThatFitsIsKept() {
    String name = "/terminator-443-1.sock";
    String fits = "/" + "d".repeat(PortListeners.MAX_SOCKET_PATH_BYTES - name.length() - 1);
    Path kept = PortListeners.socketPath(Path.of(fits), 443, -1);
    assertThat(kept).isNotNull();
    assertThat(kept.toString().getBytes(StandardCharsets.UTF_8)).hasSize(PortListeners.MAX_SOCKET_PATH_BYTES);
    assertThat(PortListeners.socketPath(Path.of(fits + "d"), 443, -1)).isNull();
  }

  @Test
  void theLimitCountsBytesNotCharacters() {
    String name = "/terminator-443-1.sock";
    // 2-byte characters: fits in characters, not in bytes
    String dir = "/" + "é".repeat((PortListeners.MAX_SOCKET_PATH_BYTES - name.length()) / 2 + 1);
    assertThat(dir.length() + name.length()).isLessThanOrEqualTo(PortListeners.MAX_SOCKET_PATH_BYTES);
    assertThat(PortListeners.socketPath(Path.of(dir), 443, -1)).isNull();
  }
}
