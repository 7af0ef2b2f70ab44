package dev.funnel.common.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NetworkRuleTest {

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByAddress(NetUtil.createByteArrayFromIpAddressString(literal));
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private static NetworkRule rule(String allow, String deny) {
    GatePolicy policy = GatePolicy.NONE;
    if (allow != null) {
      policy = policy.withAllowCidrs(Cidrs.parseList(List.of(allow)));
    }
    if (deny != null) {
      policy = policy.withDenyCidrs(Cidrs.parseList(List.of(deny)));
    }
    return NetworkRule.of(policy);
  }

  @ParameterizedTest(name = "allow {0} contains {1}: {2}")
  @CsvSource(delimiter = '|', value = {
      "10.0.0.0/8            | 10.255.1.2       | true",
      "10.0.0.0/8            | 11.0.0.0         | false",
      "10.0.0.0/8            | 9.255.255.255    | false",
      "192.0.2.128/25        | 192.0.2.127      | false",
      "192.0.2.128/25        | 192.0.2.128      | true",
      "172.16.0.0/12         | 172.31.255.255   | true",
      "172.16.0.0/12         | 172.32.0.0       | false",
      "127.0.0.2             | 127.0.0.2        | true",
      "127.0.0.2             | 127.0.0.1        | false",
      "0.0.0.0/0             | 203.0.113.7      | true",
      "0.0.0.0/0             | 2001:db8::1      | false",
      "::/0                  | 2001:db8::1      | true",
      "::/0                  | 203.0.113.7      | false",
      "2001:db8::/32         | 2001:db8:ffff::1 | true",
      "2001:db8::/32         | 2001:db9::1      | false",
      "2001:db8::/63         | 2001:db8:0:1::1  | true",
      "2001:db8::/64         | 2001:db8:0:1::1  | false",
      "::1                   | ::1              | true",
      "::1                   | 127.0.0.1        | false",
      "203.0.113.0/24        | ::ffff:203.0.113.9 | true",
      "10.0.0.0/8,2001:db8::/32 | 2001:db8::1   | true",
      "10.0.0.0/8,2001:db8::/32 | 192.0.2.1     | false"})
  void allowListsMatchIpv4AndIpv6(String allow, String address, boolean passes) {
    assertThat(rule(allow, null).refusal(ip(address)).isEmpty()).isEqualTo(passes);
  }

  @ParameterizedTest(name = "allow [{0}] deny [{1}] client {2}: {3}")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      // nothing set: everyone passes, even an unknown client
      "-               | -              | 203.0.113.7 | -",
      "-               | -              | -           | -",
      // deny only
      "-               | 127.0.0.2      | 127.0.0.2   | in --deny-cidr 127.0.0.2/32",
      "-               | 127.0.0.2      | 127.0.0.1   | -",
      // allow only: default deny
      "127.0.0.1       | -              | 127.0.0.1   | -",
      "127.0.0.1       | -              | 127.0.0.2   | not in --allow-cidr 127.0.0.1/32",
      "127.0.0.0/8     | -              | ::1         | not in --allow-cidr 127.0.0.0/8",
      // deny wins over allow
      "127.0.0.0/8     | 127.0.0.2      | 127.0.0.2   | in --deny-cidr 127.0.0.2/32",
      "127.0.0.0/8     | 127.0.0.2      | 127.0.0.3   | -",
      "2001:db8::/32   | 2001:db8:1::/48 | 2001:db8:1::5 | in --deny-cidr 2001:db8:1:0:0:0:0:0/48",
      "2001:db8::/32   | 2001:db8:1::/48 | 2001:db8:2::5 | -",
      // unknown client with a list set: fail closed
      "-               | 10.0.0.0/8     | -           | client address unknown and a CIDR list is set",
      "10.0.0.0/8      | -              | -           | client address unknown and a CIDR list is set"})
  void decides(String allow, String deny, String client, String refusal) {
    assertThat(rule(allow, deny).refusal(client == null ? null : ip(client)).orElse(null)).isEqualTo(refusal);
  }
}
