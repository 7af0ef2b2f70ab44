package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ServerPick#of} as a table: servers, where the rotation is, what other slots hold → pick, next index. */
class ServerPickTest {

  private static final HostPort A = new HostPort("a.example", 7000);
  private static final HostPort B = new HostPort("b.example", 7000);
  private static final HostPort C = new HostPort("c.example", 7000);

  static Stream<Arguments> table() {
    return Stream.of(
        // one server, nothing taken: it, again and again
        Arguments.of(List.of(A), 0, List.of(), A, 1),
        Arguments.of(List.of(A), 1, List.of(), A, 1),
        Arguments.of(List.of(A), 5, List.of(), A, 1),
        // the rotation goes on from where it is, wrapping around
        Arguments.of(List.of(A, B, C), 0, List.of(), A, 1),
        Arguments.of(List.of(A, B, C), 1, List.of(), B, 2),
        Arguments.of(List.of(A, B, C), 2, List.of(), C, 3),
        Arguments.of(List.of(A, B, C), 3, List.of(), A, 1),
        Arguments.of(List.of(A, B, C), 7, List.of(), B, 2),
        // a server another slot is on (or about to dial) is skipped
        Arguments.of(List.of(A, B, C), 0, List.of(A), B, 2),
        Arguments.of(List.of(A, B, C), 1, List.of(B), C, 3),
        Arguments.of(List.of(A, B, C), 2, List.of(C), A, 1),
        Arguments.of(List.of(A, B, C), 0, List.of(A, B), C, 3),
        Arguments.of(List.of(A, B), 1, List.of(B), A, 1),
        // every server taken (fewer distinct servers than slots): the next in the rotation anyway
        Arguments.of(List.of(A), 0, List.of(A), A, 1),
        Arguments.of(List.of(A, B), 1, List.of(A, B), B, 2),
        Arguments.of(List.of(A, B), 2, List.of(A, B), A, 3),
        // a server listed twice is still skipped by both entries
        Arguments.of(List.of(A, A, B), 0, List.of(A), B, 3));
  }

  @ParameterizedTest
  @MethodSource("table")
  void picks(List<HostPort> servers, int from, List<HostPort> taken, HostPort server, int next) {
    ServerPick pick = ServerPick.of(servers, from, taken);
    assertThat(pick.server()).isEqualTo(server);
    assertThat(pick.next()).isEqualTo(next);
  }
}
