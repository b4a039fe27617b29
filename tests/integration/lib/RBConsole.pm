package RBConsole;
# RBConsole — a minimal browser over HTTP::Tiny for the console tests: a
# cookie jar (name=value; the attributes are kept for inspection), no
# automatic redirects, the CSRF token of the last page added to POSTs.
#
#   my $c = RBConsole->new($bridge, 'demo');
#   my $r = $c->get('/signin');                     # path under /console/demo
#   $r = $c->post('/signin', { login => 'a', password => 'b' });   # + csrf of the last page
#   $r = $c->post('/signin', { ... }, csrf => undef);             # none
#   $c->{cookies}{rb_session}, $c->{set_cookie}[...] (raw Set-Cookie lines of the last answer)
use strict;
use warnings;
use HTTP::Tiny;

sub new {
    my ($class, $bridge, $tenant) = @_;
    return bless { b => $bridge, tenant => $tenant, cookies => {},
                   http => HTTP::Tiny->new(timeout => 60, max_redirect => 0) }, $class;
}

sub url {
    my ($self, $path) = @_;
    return $path =~ m{^https?://} ? $path
         : $path =~ m{^/console/}  ? "$self->{b}{base}$path"
         : "$self->{b}{base}/console/$self->{tenant}$path";
}

sub _cookie_header {
    my ($self) = @_;
    return join '; ', map { "$_=$self->{cookies}{$_}" } sort keys %{ $self->{cookies} };
}

# The answer's cookies go to the jar, unless the request carried a cookie of
# its own (`cookie => …`: a request made as someone else).
sub _take {
    my ($self, $r, $foreign) = @_;
    my $sc = $r->{headers}{'set-cookie'};
    my @lines = !defined $sc ? () : ref $sc ? @$sc : ($sc);
    $self->{set_cookie} = \@lines;
    for my $l (@lines) {
        my ($nv) = split /;/, $l;
        my ($n, $v) = split /=/, $nv, 2;
        next if $foreign;
        if ($l =~ /Max-Age=0/i) { delete $self->{cookies}{$n}; }
        else { $self->{cookies}{$n} = $v; }
    }
    my $body = $r->{content} // '';
    if ($body =~ /name="csrf" value="([0-9a-f]{64})"/) { $self->{csrf} = $1; }
    $self->{last} = $r;
    return $r;
}

sub get {
    my ($self, $path, %o) = @_;
    my %h = (Cookie => $o{cookie} // $self->_cookie_header);
    return $self->_take($self->{http}->request(GET => $self->url($path), { headers => \%h }),
                        defined $o{cookie});
}

sub post {
    my ($self, $path, $fields, %o) = @_;
    my %f = %{ $fields // {} };
    my $csrf = exists $o{csrf} ? $o{csrf} : $self->{csrf};
    $f{csrf} = $csrf if defined $csrf;
    my @pairs;
    for my $k (sort keys %f) {
        for my $v (ref $f{$k} ? @{ $f{$k} } : ($f{$k})) { push @pairs, $k => $v; }
    }
    my $body = $self->{http}->www_form_urlencode(\@pairs);
    my %h = ('Content-Type' => 'application/x-www-form-urlencoded',
             Cookie => $o{cookie} // $self->_cookie_header);
    return $self->_take($self->{http}->request(POST => $self->url($path),
                                               { headers => \%h, content => $body }),
                        defined $o{cookie});
}

1;
