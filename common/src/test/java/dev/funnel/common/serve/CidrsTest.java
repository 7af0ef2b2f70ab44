package dev.funnel.common.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CidrsTest {

  @ParameterizedTest
  @CsvSource({
      "10.0.0.0/8, 10.255.1.2, true",
      "10.0.0.0/8, 11.0.0.1, false",
      "192.0.2.0/25, 192.0.2.127, true",
      "192.0.2.0/25, 192.0.2.128, false",
      "192.0.2.7, 192.0.2.7, true",
      "192.0.2.7, 192.0.2.8, false",
      "0.0.0.0/0, 203.0.113.9, true",
      "2001:db8::/32, 2001:db8:ffff::1, true",
      "2001:db8::/33, 2001:db8:8000::1, false",
      "::1, ::1, true",
      "10.0.0.0/8, ::ffff:10.0.0.1, true",
      "2001:db8::/32, 10.0.0.1, false"})
  void contains(String cidr, String address, boolean inside) throws Exception {
    assertThat(Cidrs.parse(cidr).contains(InetAddress.getByName(address))).isEqualTo(inside);
  }
}
