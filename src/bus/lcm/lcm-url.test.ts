import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LCM_URL, parseLcmUrl } from './lcm-url.js';

test('LCM URLs parse to group, port and ttl, with LCM’s defaults', () => {
  assert.deepEqual(parseLcmUrl(DEFAULT_LCM_URL), {
    group: '239.255.76.67',
    port: 7667,
    ttl: 0,
    recvBufSize: undefined,
    url: 'lcm://239.255.76.67:7667?ttl=0',
  });
  assert.equal(parseLcmUrl('lcm://').url, 'lcm://239.255.76.67:7667?ttl=0');
  assert.equal(parseLcmUrl('lcm://239.1.2.3').url, 'lcm://239.1.2.3:7667?ttl=0');
  assert.equal(parseLcmUrl('udpm://239.255.76.67:7668?ttl=1&recv_buf_size=2097152').url, 'lcm://239.255.76.67:7668?ttl=1&recv_buf_size=2097152');
  assert.equal(parseLcmUrl('lcm://224.0.0.251:5353/?ttl=255').ttl, 255);
});

test('bad LCM URLs are InvalidArgumentErrors that name the problem', () => {
  const cases: [string, RegExp][] = [
    ['239.255.76.67:7667', /is not an LCM URL; expected lcm:\/\/group:port\?ttl=N/],
    ['nats://239.255.76.67:7667', /must start with lcm:\/\//],
    ['not a url', /is not an LCM URL; expected lcm:\/\/group:port\?ttl=N, e\.g\. lcm:\/\/239\.255\.76\.67:7667\?ttl=0/],
    ['lcm://192.168.1.5:7667', /group "192\.168\.1\.5" must be an IPv4 multicast address/],
    ['lcm://example.com:7667', /group "example\.com" must be an IPv4 multicast address/],
    ['lcm://239.255.76.67:0', /port=0 must be an integer from 1 to 65535/],
    ['lcm://239.255.76.67:7667?ttl=256', /ttl=256 must be an integer from 0 to 255/],
    ['lcm://239.255.76.67:7667?ttl=-1', /ttl=-1 must be an integer/],
    ['lcm://239.255.76.67:7667?ttl=1.5', /ttl=1\.5 must be an integer/],
    ['lcm://239.255.76.67:7667?tll=1', /Unknown LCM URL option "tll"; known: ttl, recv_buf_size/],
    ['lcm://239.255.76.67:7667/camera', /may only have a group, a port and options/],
    ['lcm://user@239.255.76.67:7667', /may only have a group, a port and options/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => parseLcmUrl(url), { name: 'InvalidArgumentError', message }, url);
  }
});
