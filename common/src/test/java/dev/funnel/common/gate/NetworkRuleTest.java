package dev.funnel.common.gate;

import static dev.funnel.common.gate.CidrSetTest.ip;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NetworkRuleTest {

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
      "2001:db8::/32   | 2001:db8:1::/48 | 2001:db8:1::5 | in --deny-cidr 2001:db8:1::/48",
      "2001:db8::/32   | 2001:db8:1::/48 | 2001:db8:2::5 | -",
      // unknown client with a list set: fail closed
      "-               | 10.0.0.0/8     | -           | client address unknown and a CIDR list is set",
      "10.0.0.0/8      | -              | -           | client address unknown and a CIDR list is set"})
  void decides(String allow, String deny, String client, String refusal) {
    NetworkRule rule = new NetworkRule(allow == null ? CidrSet.empty() : CidrSet.parse(allow),
        deny == null ? CidrSet.empty() : CidrSet.parse(deny));
    assertThat(rule.refusal(client == null ? null : ip(client)).orElse(null)).isEqualTo(refusal);
  }
}
