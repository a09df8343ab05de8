/*
 * A robot's side of the teleop test: subscribes to framebus.twist_t on one channel with
 * liblcm and prints "twist <timestamp_ns> <linear x y z> <angular x y z>" per message.
 *   twist_subscriber <url> <channel> <timeout_ms>
 * Prints "ready" once subscribed; exits after <timeout_ms> or on stdin EOF.
 */
#include <inttypes.h>
#include <lcm/lcm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "framebus_twist_t.h"

static void on_twist(const lcm_recv_buf_t *rbuf, const char *channel, const framebus_twist_t *msg, void *user)
{
    (void)rbuf;
    (void)channel;
    (void)user;
    printf("twist %" PRId64 " %g %g %g %g %g %g\n", msg->timestamp_ns, msg->linear[0], msg->linear[1], msg->linear[2], msg->angular[0],
           msg->angular[1], msg->angular[2]);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 4) return 1;
    lcm_t *lcm = lcm_create(argv[1]);
    if (!lcm) return 2;
    framebus_twist_t_subscribe(lcm, argv[2], on_twist, NULL);
    printf("ready\n");
    fflush(stdout);
    int left = atoi(argv[3]);
    struct pollfd fds[2] = {{lcm_get_fileno(lcm), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    while (left > 0) {
        if (poll(fds, 2, 100) > 0) {
            if (fds[0].revents & POLLIN) lcm_handle(lcm);
            if (fds[1].revents & (POLLIN | POLLHUP)) {
                char c;
                if (read(STDIN_FILENO, &c, 1) <= 0) break;
            }
        }
        left -= 100;
    }
    lcm_destroy(lcm);
    return 0;
}
