package dev.funnel.common.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CidrSetTest {

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByAddress(NetUtil.createByteArrayFromIpAddressString(literal));
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest(name = "{0} contains {1}: {2}")
  @CsvSource(delimiter = '|', value = {
      "10.0.0.0/8            | 10.255.1.2       | true",
      "10.0.0.0/8            | 11.0.0.0         | false",
      "10.0.0.0/8            | 9.255.255.255    | false",
      "192.0.2.0/24          | 192.0.2.255      | true",
      "192.0.2.0/24          | 192.0.3.0        | false",
      "192.0.2.128/25        | 192.0.2.127      | false",
      "192.0.2.128/25        | 192.0.2.128      | true",
      "172.16.0.0/12         | 172.31.255.255   | true",
      "172.16.0.0/12         | 172.32.0.0       | false",
      "127.0.0.2             | 127.0.0.2        | true",
      "127.0.0.2             | 127.0.0.1        | false",
      "127.0.0.2/32          | 127.0.0.3        | false",
      "0.0.0.0/0             | 203.0.113.7      | true",
      "0.0.0.0/0             | 2001:db8::1      | false",
      "::/0                  | 2001:db8::1      | true",
      "::/0                  | 203.0.113.7      | false",
      "2001:db8::/32         | 2001:db8:ffff::1 | true",
      "2001:db8::/32         | 2001:db9::1      | false",
      "2001:db8::/63         | 2001:db8:0:1::1  | true",
      "2001:db8::/64         | 2001:db8:0:1::1  | false",
      "2001:db8::7           | 2001:db8::7      | true",
      "2001:db8::7           | 2001:db8::8      | false",
      "::1                   | ::1              | true",
      "::1                   | 127.0.0.1        | false",
      "203.0.113.0/24        | ::ffff:203.0.113.9 | true",
      "::ffff:203.0.113.0/120 | 203.0.113.9     | true",
      "::ffff:203.0.113.0/120 | 203.0.114.9     | false",
      "10.0.0.0/8,2001:db8::/32 | 2001:db8::1   | true",
      "10.0.0.0/8, 2001:db8::/32 | 10.1.1.1     | true",
      "10.0.0.0/8, 2001:db8::/32 | 192.0.2.1    | false"})
  void matches(String blocks, String address, boolean expected) {
    assertThat(CidrSet.parse(blocks).contains(ip(address))).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0/8",
      "10.0.0.0.0/8", "example.com", "localhost", "10.0.0.0/8/8", "[::1]", "[::1]/128", "fe80::1%eth0",
      "10.0.0.1/8", "2001:db8::1/32", "10.0.0.0/08x", "10.0.0.0,,10.0.0.1", "::ffff:10.0.0.0/8",
      "256.0.0.0/8", "10.0.0.0/1000"})
  void refusesWithAReasonNamingTheBlock(String text) {
    assertThatThrownBy(() -> CidrSet.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching("(empty CIDR block|bad CIDR block).*");
  }

  @Test
  void hostBitsSetSuggestsTheNetwork() {
    assertThatThrownBy(() -> CidrSet.parse("10.1.2.3/8")).hasMessageContaining("did you mean 10.0.0.0/8?");
  }

  @Test
  void printsNormalisedBlocks() {
    assertThat(CidrSet.parse("2001:DB8::/32, 192.0.2.7, ::ffff:10.0.0.0/104").blocks())
        .containsExactly("2001:db8::/32", "192.0.2.7/32", "10.0.0.0/8");
    assertThat(CidrSet.ofLists(List.of("10.0.0.0/8", "::1"))).isEqualTo(CidrSet.parse("10.0.0.0/8,::1"));
  }

  @Test
  void emptyAndNullHoldNothing() {
    assertThat(CidrSet.empty().contains(ip("10.0.0.1"))).isFalse();
    assertThat(CidrSet.parse("0.0.0.0/0").contains(null)).isFalse();
    assertThat(CidrSet.empty().isEmpty()).isTrue();
  }
}
