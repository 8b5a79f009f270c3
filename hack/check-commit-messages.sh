#!/usr/bin/env bash
# Checks the commit messages since the convention began: a subject of at most 72 characters, in the imperative
# (no trailing period), and a blank line before any body, so that `git log --oneline` and GitHub show whole
# subjects and the why lives in the body. Earlier history is left as it is: rewriting it would change every hash.
set -euo pipefail
cd "$(dirname "$0")/.."

# The first commit written to the convention; commits after it are checked.
since=4061c7a

if ! git cat-file -e "$since^{commit}" 2>/dev/null; then
	echo "check-commit-messages: $since is not in this clone (shallow?); checking the last 20 commits" >&2
	range=(-n 20 HEAD)
else
	range=("$since^..HEAD")
fi

status=0
while IFS= read -r hash; do
	subject=$(git log -1 --format=%s "$hash")
	second=$(git log -1 --format=%B "$hash" | sed -n 2p)
	problems=()
	((${#subject} <= 72)) || problems+=("subject is ${#subject} characters, over 72")
	[[ $subject != *. ]] || problems+=("subject ends with a period")
	[[ -z $second ]] || problems+=("no blank line between subject and body")
	if ((${#problems[@]})); then
		status=1
		printf '%s %s\n' "${hash:0:7}" "$subject" >&2
		printf '    %s\n' "${problems[@]}" >&2
	fi
done < <(git rev-list --no-merges "${range[@]}")

if ((status)); then
	echo "check-commit-messages: reword these commits (git rebase -i) before they land" >&2
fi
exit $status
