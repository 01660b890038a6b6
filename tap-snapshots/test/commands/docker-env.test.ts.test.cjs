/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/commands/docker-env.test.ts > TAP > hostile values: quoted for every shell, or refused (cmd) > bash 1`] = `
export DOCKER_HOST="tcp://\\$(touch x)\\\`touch y\\\`\\"'\\\\!;\\$HOME%^&’"
# Run this command to configure your shell:
# eval $(cclab docker-env x)

`

exports[`test/commands/docker-env.test.ts > TAP > hostile values: quoted for every shell, or refused (cmd) > fish 1`] = `
set -gx DOCKER_HOST "tcp://\\$(touch x)\`touch y\`\\"'\\\\!;\\$HOME%^&’";
# Run this command to configure your shell:
# cclab docker-env x | source

`

exports[`test/commands/docker-env.test.ts > TAP > hostile values: quoted for every shell, or refused (cmd) > powershell 1`] = `
$Env:DOCKER_HOST = 'tcp://$(touch x)\`touch y\`"''\\!;$HOME%^&’’'
# Run this command to configure your shell:
# & cclab docker-env x | Invoke-Expression

`

exports[`test/commands/docker-env.test.ts > TAP > hostile values: quoted for every shell, or refused (cmd) > tcsh 1`] = `
setenv DOCKER_HOST 'tcp://$(touch x)\`touch y\`"'\\''\\\\!;$HOME%^&’';
: Run this command to configure your shell:
: eval \`cclab docker-env x\`

`

exports[`test/commands/docker-env.test.ts > TAP > hostile values: quoted for every shell, or refused (cmd) > zsh 1`] = `
export DOCKER_HOST="tcp://\\$(touch x)\\\`touch y\\\`\\"'\\\\!;\\$HOME%^&’"
# Run this command to configure your shell:
# eval $(cclab docker-env x)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > bash: --unset 1`] = `
unset DOCKER_TLS_VERIFY;
unset DOCKER_HOST;
unset DOCKER_CERT_PATH;
unset CCLAB_ACTIVE_DOCKERD;
# Run this command to configure your shell:
# eval $(cclab docker-env --unset)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > bash: set 1`] = `
unset DOCKER_TLS_VERIFY;
unset DOCKER_CERT_PATH;
export DOCKER_HOST="tcp://127.0.0.1:2375"
# Run this command to configure your shell:
# eval $(cclab docker-env laptop)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > bash: set, TLS 1`] = `
export DOCKER_TLS_VERIFY="1"
export DOCKER_HOST="tcp://127.0.0.1:2376"
export DOCKER_CERT_PATH="/home/me/.local/share/cclab/labs/laptop/docker-certs"
export CCLAB_ACTIVE_DOCKERD="laptop"
# Run this command to configure your shell:
# eval $(cclab docker-env laptop)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > cmd: --unset 1`] = `
SET DOCKER_TLS_VERIFY=
SET DOCKER_HOST=
SET DOCKER_CERT_PATH=
SET CCLAB_ACTIVE_DOCKERD=
REM Run this command to configure your shell:
REM 	@FOR /f "tokens=*" %i IN ('cclab docker-env --unset') DO @%i

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > cmd: set 1`] = `
SET DOCKER_TLS_VERIFY=
SET DOCKER_CERT_PATH=
SET DOCKER_HOST=tcp://127.0.0.1:2375
REM Run this command to configure your shell:
REM 	@FOR /f "tokens=*" %i IN ('cclab docker-env laptop') DO @%i

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > cmd: set, TLS 1`] = `
SET DOCKER_TLS_VERIFY=1
SET DOCKER_HOST=tcp://127.0.0.1:2376
SET DOCKER_CERT_PATH=/home/me/.local/share/cclab/labs/laptop/docker-certs
SET CCLAB_ACTIVE_DOCKERD=laptop
REM Run this command to configure your shell:
REM 	@FOR /f "tokens=*" %i IN ('cclab docker-env laptop') DO @%i

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > fish: --unset 1`] = `
set -e DOCKER_TLS_VERIFY;
set -e DOCKER_HOST;
set -e DOCKER_CERT_PATH;
set -e CCLAB_ACTIVE_DOCKERD;
# Run this command to configure your shell:
# cclab docker-env --unset | source

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > fish: set 1`] = `
set -e DOCKER_TLS_VERIFY;
set -e DOCKER_CERT_PATH;
set -gx DOCKER_HOST "tcp://127.0.0.1:2375";
# Run this command to configure your shell:
# cclab docker-env laptop | source

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > fish: set, TLS 1`] = `
set -gx DOCKER_TLS_VERIFY "1";
set -gx DOCKER_HOST "tcp://127.0.0.1:2376";
set -gx DOCKER_CERT_PATH "/home/me/.local/share/cclab/labs/laptop/docker-certs";
set -gx CCLAB_ACTIVE_DOCKERD "laptop";
# Run this command to configure your shell:
# cclab docker-env laptop | source

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > json: --unset 1`] = `
{"DOCKER_TLS_VERIFY":null,"DOCKER_HOST":null,"DOCKER_CERT_PATH":null,"CCLAB_ACTIVE_DOCKERD":null}

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > json: set 1`] = `
{"DOCKER_HOST":"tcp://127.0.0.1:2375","DOCKER_TLS_VERIFY":null,"DOCKER_CERT_PATH":null}

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > none: --unset 1`] = `
DOCKER_TLS_VERIFY
DOCKER_HOST
DOCKER_CERT_PATH
CCLAB_ACTIVE_DOCKERD

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > none: set 1`] = `
DOCKER_HOST=tcp://127.0.0.1:2375

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > none: set, TLS 1`] = `
DOCKER_TLS_VERIFY=1
DOCKER_HOST=tcp://127.0.0.1:2376
DOCKER_CERT_PATH=/home/me/.local/share/cclab/labs/laptop/docker-certs
CCLAB_ACTIVE_DOCKERD=laptop

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > powershell: --unset 1`] = `
Remove-Item Env:\\DOCKER_TLS_VERIFY -ErrorAction SilentlyContinue
Remove-Item Env:\\DOCKER_HOST -ErrorAction SilentlyContinue
Remove-Item Env:\\DOCKER_CERT_PATH -ErrorAction SilentlyContinue
Remove-Item Env:\\CCLAB_ACTIVE_DOCKERD -ErrorAction SilentlyContinue
# Run this command to configure your shell:
# & cclab docker-env --unset | Invoke-Expression

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > powershell: set 1`] = `
Remove-Item Env:\\DOCKER_TLS_VERIFY -ErrorAction SilentlyContinue
Remove-Item Env:\\DOCKER_CERT_PATH -ErrorAction SilentlyContinue
$Env:DOCKER_HOST = "tcp://127.0.0.1:2375"
# Run this command to configure your shell:
# & cclab docker-env laptop | Invoke-Expression

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > powershell: set, TLS 1`] = `
$Env:DOCKER_TLS_VERIFY = "1"
$Env:DOCKER_HOST = "tcp://127.0.0.1:2376"
$Env:DOCKER_CERT_PATH = "/home/me/.local/share/cclab/labs/laptop/docker-certs"
$Env:CCLAB_ACTIVE_DOCKERD = "laptop"
# Run this command to configure your shell:
# & cclab docker-env laptop | Invoke-Expression

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > tcsh: --unset 1`] = `
unsetenv DOCKER_TLS_VERIFY;
unsetenv DOCKER_HOST;
unsetenv DOCKER_CERT_PATH;
unsetenv CCLAB_ACTIVE_DOCKERD;
: Run this command to configure your shell:
: eval \`cclab docker-env --unset\`

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > tcsh: set 1`] = `
unsetenv DOCKER_TLS_VERIFY;
unsetenv DOCKER_CERT_PATH;
setenv DOCKER_HOST "tcp://127.0.0.1:2375";
: Run this command to configure your shell:
: eval \`cclab docker-env laptop\`

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > tcsh: set, TLS 1`] = `
setenv DOCKER_TLS_VERIFY "1";
setenv DOCKER_HOST "tcp://127.0.0.1:2376";
setenv DOCKER_CERT_PATH "/home/me/.local/share/cclab/labs/laptop/docker-certs";
setenv CCLAB_ACTIVE_DOCKERD "laptop";
: Run this command to configure your shell:
: eval \`cclab docker-env laptop\`

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > zsh: --unset 1`] = `
unset DOCKER_TLS_VERIFY;
unset DOCKER_HOST;
unset DOCKER_CERT_PATH;
unset CCLAB_ACTIVE_DOCKERD;
# Run this command to configure your shell:
# eval $(cclab docker-env --unset)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > zsh: set 1`] = `
unset DOCKER_TLS_VERIFY;
unset DOCKER_CERT_PATH;
export DOCKER_HOST="tcp://127.0.0.1:2375"
# Run this command to configure your shell:
# eval $(cclab docker-env laptop)

`

exports[`test/commands/docker-env.test.ts > TAP > output for every shell (snapshot: an output contract) > zsh: set, TLS 1`] = `
export DOCKER_TLS_VERIFY="1"
export DOCKER_HOST="tcp://127.0.0.1:2376"
export DOCKER_CERT_PATH="/home/me/.local/share/cclab/labs/laptop/docker-certs"
export CCLAB_ACTIVE_DOCKERD="laptop"
# Run this command to configure your shell:
# eval $(cclab docker-env laptop)

`
