/* The program the toolchain example compiles: built with gcc in a Debian stage, it runs
 * alone in a `scratch` image (linked statically, it needs no libc at run time). */
#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
    struct utsname host;
    if (uname(&host) != 0) {
        perror("uname");
        return 1;
    }
    printf("hello from a static C binary, built by gcc %d.%d in a berth build\n",
           __GNUC__, __GNUC_MINOR__);
    printf("running on %s %s\n", host.sysname, host.machine);
    return 0;
}
